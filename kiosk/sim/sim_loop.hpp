#pragma once
// The simulator's part of the window loop: the simulation's clock, its panel (pressed intents
// run on the SimRunner's worker), and the scripted demo (--demo), a whole top-up and the meter
// loading it, each step waiting for a screen.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "kiosk/sim/sim_runner.hpp"
#include "kiosk/sim/simulation.hpp"
#include "kiosk/window_loop.hpp"

namespace kiosk::sim {

class SimLoop final : public app::LoopExtension {
 public:
  // `demo`: run the scripted demo; the window loop ends when it does (0: it went through).
  SimLoop(Simulation& simulation, bool demo);
  ~SimLoop() override;

  const platform::Clock& clock() const override { return m_simulation.clock(); }
  bool changed() override;
  bool scripted() const override { return m_demo; }
  bool drawPanel(ui::Ui& ui, const ui::Rect& column, app::Runtime& runtime) override;
  std::optional<int> afterFrame(app::Runtime& runtime, const std::string& current,
                                const std::string& captured) override;

 private:
  // Fills in the order the pay screen shows for the intents about it; false when none is.
  static bool withOrder(app::Runtime& runtime, SimIntent& intent);

  Simulation& m_simulation;
  bool m_demo;
  SimRunner m_runner;
  std::uint64_t m_seen = 0;  // the runner's carried-out intents already drawn
  bool m_collapsed = false;  // the panel is folded to its one button
  std::size_t m_step = 0;
  bool m_acted = false;
  std::uint64_t m_ticket = 0;  // the runner's ticket of the step's action
  std::chrono::steady_clock::time_point m_since;
};

}  // namespace kiosk::sim
