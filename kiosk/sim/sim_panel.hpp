#pragma once
// The simulation panel: the controls of the simulated world for whoever tries the kiosk out,
// docked in a column beside the kiosk's screen and folding to one button. A screen function
// like the others: it draws the view model and returns what was pressed, which the simulation
// runner carries out off the UI thread. Its texts and buttons go into the layout record with
// ids under "sim.".

#include "kiosk/sim/sim_runner.hpp"
#include "kiosk/ui/widgets.hpp"

namespace kiosk::ui {

sim::SimIntent drawSimulationPanel(Ui& ui, const Rect& column, const sim::SimPanelView& view);

}  // namespace kiosk::ui
