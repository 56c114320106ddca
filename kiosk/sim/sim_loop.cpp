#include "kiosk/sim/sim_loop.hpp"

#include <spdlog/spdlog.h>

#include <functional>
#include <utility>
#include <variant>
#include <vector>

#include "kiosk/sim/sim_panel.hpp"
#include "platform/gfx/window.hpp"

namespace kiosk::sim {

namespace {

using Kind = app::Intent::Kind;
constexpr std::chrono::seconds kDemoStepTimeout{60};

struct DemoStep {
  enum class Do { Nothing, Insert, Pull, Press, Pay, Meter } what = Do::Nothing;
  std::string arg;
  int value = 0;
  std::string until;  // screen to reach before the next step
  // What else must hold on that screen (none: the screen is enough).
  std::function<bool(const app::FlowState&)> also;
  // Capture the screen once `also` holds, although it was captured on arrival.
  bool shot = false;
};

const std::vector<DemoStep>& topUpScript() {
  using D = DemoStep::Do;
  static const std::vector<DemoStep> script{
      {D::Nothing, "", 0, "attract", {}, false},
      {D::Insert, "normal", 0, "account", {}, false},
      {D::Press, "topup", 0, "amount", {}, false},
      {D::Press, "digit", 5, "amount", {}, false},
      {D::Press, "digit", 0, "amount", {}, false},
      {D::Press, "confirm", 0, "pay", {}, false},
      {D::Pay, "", 0, "done", {}, false},
      {D::Pull, "", 0, "attract", {}, false},
      {D::Meter, "normal", 0, "attract", {}, false},
      {D::Insert, "normal", 0, "account", {}, false},
      {D::Pull, "", 0, "attract", {}, false},
  };
  return script;
}

const app::screen::Maintenance* dashboardOf(const app::FlowState& state) {
  return std::get_if<app::screen::Maintenance>(&state.screen);
}

// The dashboard shows the facts the maintenance worker gathered.
bool dashboardLoaded(const app::FlowState& state) {
  const auto* dashboard = dashboardOf(state);
  return dashboard != nullptr && !dashboard->view.health.empty() && !dashboard->refreshing;
}

bool readerTested(const app::FlowState& state) {
  const auto* dashboard = dashboardOf(state);
  return dashboardLoaded(state) && !dashboard->readerTesting && dashboard->readerTest.has_value();
}

// A staff visit: the staff card opens the dashboard, a resident card goes in for the reader
// test, the staff member leaves; then a second visit with the staff card.
const std::vector<DemoStep>& staffScript() {
  using D = DemoStep::Do;
  static const std::vector<DemoStep> script{
      // The staff card opens the dashboard once the kiosk config names its staff.
      {D::Nothing, "", 0, "attract", [](const app::FlowState& s) { return !s.staff.empty(); }, false},
      {D::Insert, "staff", 0, "maintenance", dashboardLoaded, true},
      {D::Insert, "normal", 0, "maintenance", {}, false},
      {D::Press, "reader_test", 0, "maintenance", readerTested, true},
      {D::Press, "exit", 0, "account", {}, false},
      {D::Pull, "", 0, "attract", {}, false},
      {D::Insert, "staff", 0, "maintenance", dashboardLoaded, true},
      {D::Press, "exit", 0, "attract", {}, false},
      {D::Pull, "", 0, "attract", {}, false},
  };
  return script;
}

}  // namespace

SimLoop::SimLoop(Simulation& simulation, Demo demo)
    : m_simulation(simulation),
      m_demo(demo),
      m_runner(simulation, &platform::Window::openUrl, [] { platform::Window::wake(); }),
      m_since(std::chrono::steady_clock::now()) {}

SimLoop::~SimLoop() = default;

bool SimLoop::changed() {
  const auto done = m_runner.done();
  if (done == m_seen) return false;
  m_seen = done;
  return true;
}

namespace {
// "pay", or "pay:offline" while the cloud does not answer: the phone can pay either way.
bool onPayScreen(const app::Runtime& runtime) { return runtime.screen().rfind("pay", 0) == 0; }
}  // namespace

bool SimLoop::withOrder(app::Runtime& runtime, SimIntent& intent) {
  const auto pay = runtime.lastPay();
  if (!pay || !onPayScreen(runtime)) return false;
  intent.payUrl = pay->payUrl;
  intent.orderId = pay->orderId;
  return true;
}

bool SimLoop::drawPanel(ui::Ui& ui, const ui::Rect& column, app::Runtime& runtime) {
  const bool paying = onPayScreen(runtime) && runtime.lastPay().has_value();
  auto view = m_runner.view(paying);
  view.collapsed = m_collapsed;
  view.scripted = scripted();  // the demo's panel shows what it does; only folding works
  auto pressed = ui::drawSimulationPanel(ui, column, view);
  using SimKind = SimIntent::Kind;
  if (pressed.kind == SimKind::TogglePanel) {
    m_collapsed = !m_collapsed;
    return true;
  }
  if (pressed.kind == SimKind::None || scripted()) return false;
  const bool aboutOrder = pressed.kind == SimKind::Pay || pressed.kind == SimKind::Decline ||
                          pressed.kind == SimKind::OpenPayPage;
  if (aboutOrder && !withOrder(runtime, pressed)) return false;
  m_runner.post(std::move(pressed));
  return true;
}

void SimLoop::shotTaken() {
  m_shotWanted = false;
  m_shotTaken = true;
}

std::optional<int> SimLoop::afterFrame(app::Runtime& runtime, const std::string& current,
                                       const std::string& captured) {
  if (m_demo == Demo::None) return std::nullopt;
  const auto& script = m_demo == Demo::Staff ? staffScript() : topUpScript();
  const DemoStep& step = script[m_step];
  if (!m_acted) {
    using D = DemoStep::Do;
    using SimKind = SimIntent::Kind;
    SimIntent act;
    switch (step.what) {
      case D::Nothing: break;
      case D::Insert:
        act.kind = SimKind::Insert;
        act.key = step.arg;
        break;
      case D::Pull: act.kind = SimKind::Pull; break;
      case D::Press: {
        static const std::pair<const char*, Kind> kKeys[] = {
            {"topup", Kind::TopUp},
            {"digit", Kind::Digit},
            {"confirm", Kind::ConfirmAmount},
            {"reader_test", Kind::ReaderTest},
            {"exit", Kind::ExitMaintenance}};
        for (const auto& [name, kind] : kKeys) {
          if (step.arg == name) runtime.press(kind, step.value);
        }
        break;
      }
      case D::Pay:
        act.kind = SimKind::Pay;
        if (!withOrder(runtime, act)) {
          spdlog::error("demo: step {} failed: no order to pay", m_step + 1);
          return 1;
        }
        break;
      case D::Meter:
        act.kind = SimKind::UseMeter;
        act.key = step.arg;
        break;
    }
    m_ticket = act.kind == SimKind::None ? m_runner.done() : m_runner.post(std::move(act));
    m_acted = true;
    m_since = std::chrono::steady_clock::now();
  }
  // The step's action is carried out on the runner; its problem ends the demo.
  const bool actionDone = m_runner.done() >= m_ticket;
  if (actionDone && !m_runner.lastProblem().empty()) {
    spdlog::error("demo: step {} failed: {}", m_step + 1, m_runner.lastProblem());
    return 1;
  }
  const bool reached = actionDone && current == step.until && captured == current &&
                       (!step.also || step.also(runtime.state()));
  if (reached && step.shot && !m_shotTaken) {
    m_shotWanted = true;  // the window loop captures the next frame, then says so
    return std::nullopt;
  }
  if (reached) {
    ++m_step;
    m_acted = false;
    m_shotTaken = false;
    if (m_step == script.size()) {
      spdlog::info("demo: finished");
      return 0;
    }
  } else if (std::chrono::steady_clock::now() - m_since > kDemoStepTimeout) {
    spdlog::error("demo: step {} did not reach the {} screen (showing {})", m_step + 1, step.until,
                  current);
    return 1;
  }
  return std::nullopt;
}

}  // namespace kiosk::sim
