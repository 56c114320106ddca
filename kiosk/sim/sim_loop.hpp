#pragma once
// The simulator's part of the window loop: the simulation's clock, its panel (pressed intents
// run on the SimRunner's worker), and the scripted demos, each step waiting for a screen: a
// whole top-up and the meter loading it (--demo), or a staff visit to maintenance mode
// (--staff-demo).

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
  enum class Demo { None, TopUp, Staff };
  // `demo`: run that scripted demo; the window loop ends when it does (0: it went through).
  SimLoop(Simulation& simulation, Demo demo);
  ~SimLoop() override;

  const platform::Clock& clock() const override { return m_simulation.clock(); }
  bool changed() override;
  bool scripted() const override { return m_demo != Demo::None; }
  bool wantsShot() const override { return m_shotWanted; }
  void shotTaken() override;
  bool drawPanel(ui::Ui& ui, const ui::Rect& column, app::Runtime& runtime) override;
  std::optional<int> afterFrame(app::Runtime& runtime, const std::string& current,
                                const std::string& captured) override;

 private:
  // Fills in the order the pay screen shows for the intents about it; false when none is.
  static bool withOrder(app::Runtime& runtime, SimIntent& intent);

  Simulation& m_simulation;
  Demo m_demo;
  SimRunner m_runner;
  std::uint64_t m_seen = 0;  // the runner's carried-out intents already drawn
  bool m_collapsed = false;  // the panel is folded to its one button
  std::size_t m_step = 0;
  bool m_acted = false;
  bool m_shotWanted = false;  // the step's state is to be captured, on the same screen
  bool m_shotTaken = false;
  std::uint64_t m_ticket = 0;  // the runner's ticket of the step's action
  std::chrono::steady_clock::time_point m_since;
};

}  // namespace kiosk::sim
