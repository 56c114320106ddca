#pragma once
// The simulation panel: a small window over the kiosk's screen for whoever tries the kiosk
// out. A screen function like the others: it draws the view model and returns what was
// pressed, which the simulation runner carries out off the UI thread.

#include "kiosk/sim/sim_runner.hpp"
#include "kiosk/ui/widgets.hpp"

namespace kiosk::ui {

sim::SimIntent drawSimulationPanel(Ui& ui, const sim::SimPanelView& view);

}  // namespace kiosk::ui
