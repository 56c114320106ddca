#include "kiosk/live.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "kiosk/frame_stats.hpp"
#include "kiosk/sim/sim_runner.hpp"
#include "kiosk/ui/frame.hpp"
#include "kiosk/ui/screens.hpp"
#include "kiosk/ui/sim_panel.hpp"
#include "platform/overloaded.hpp"

namespace kiosk::app {

namespace {

using namespace std::chrono_literals;
using Kind = Intent::Kind;
using Steady = std::chrono::steady_clock;

constexpr int kFramesPerChange = 3;  // ImGui settles hover and layout over a frame or two
constexpr std::chrono::seconds kDemoStepTimeout{60};

Millis steadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now().time_since_epoch()).count();
}

ui::Intent drawFlow(ui::Ui& ui, const FlowState& state, const std::string& clock, bool simulation) {
  return std::visit(
      Overloaded{
          [&](const screen::Attract&) {
            return ui::drawAttract(ui, {state.kioskId, clock, simulation});
          },
          [&](const screen::Reading&) { return ui::drawReading(ui); },
          [&](const screen::Account& s) { return ui::drawAccount(ui, s.account); },
          [&](const screen::Amount& s) { return ui::drawAmount(ui, s.view); },
          [&](const screen::Paying& s) { return ui::drawPay(ui, s.view); },
          [&](const screen::Writing& s) { return ui::drawWriting(ui, s.view); },
          [&](const screen::Reinsert& s) { return ui::drawReinsert(ui, s.view); },
          [&](const screen::Done& s) { return ui::drawDone(ui, s.view); },
          [&](const screen::Error& s) { return ui::drawError(ui, s.view); },
          [&](const screen::OutOfService& s) { return ui::drawOutOfService(ui, s.view); },
          [&](const screen::Pin& s) { return ui::drawPinPad(ui, s.view); },
          [&](const screen::Maintenance& s) { return ui::drawMaintenance(ui, s.view); },
      },
      state.screen);
}

// The scripted demo: a whole top-up and the meter loading it, each step waiting for a screen.
struct DemoStep {
  enum class Do { Nothing, Insert, Pull, Press, Pay, Meter } what = Do::Nothing;
  std::string arg;
  int value = 0;
  std::string until;  // screen to reach before the next step
};

std::vector<DemoStep> demoScript() {
  using D = DemoStep::Do;
  return {
      {D::Nothing, "", 0, "attract"},
      {D::Insert, "normal", 0, "account"},
      {D::Press, "topup", 0, "amount"},
      {D::Press, "digit", 5, "amount"},
      {D::Press, "digit", 0, "amount"},
      {D::Press, "confirm", 0, "pay"},
      {D::Pay, "", 0, "done"},
      {D::Pull, "", 0, "attract"},
      {D::Meter, "normal", 0, "attract"},
      {D::Insert, "normal", 0, "account"},
      {D::Pull, "", 0, "attract"},
  };
}

}  // namespace

int runLive(LiveContext c) {
  auto& window = c.window;
  auto& runtime = c.runtime;
  const auto& options = c.options;
  Lang lang = options.lang;
  ui::LayoutProbe probe;
  FirstFrameLog firstFrame;
  HiddenGesture gesture;
  platform::SystemClock systemClock;
  const platform::Clock& shownClock = c.simulation != nullptr ? c.simulation->clock() : systemClock;

  runtime.queue().setListener([] { platform::Window::wake(); });
  runtime.setTrace([](const std::string&) {});
  // The panel's and the demo's actions wait on vpcd, HTTP and card files: a worker runs them.
  std::unique_ptr<sim::SimRunner> simRunner;
  if (c.simulation != nullptr) {
    simRunner = std::make_unique<sim::SimRunner>(*c.simulation, &platform::Window::openUrl,
                                                 [] { platform::Window::wake(); });
  }
  std::uint64_t simSeen = 0;  // the runner's carried-out intents already drawn
  // Fills in the order the pay screen shows for the intents about it; false when none is.
  const auto withOrder = [&](sim::SimIntent& intent) {
    const auto pay = runtime.lastPay();
    if (!pay || runtime.screen() != "pay") return false;
    intent.payUrl = pay->payUrl;
    intent.orderId = pay->orderId;
    return true;
  };

  // Demo state.
  const bool demo = options.demo && c.simulation != nullptr;
  const auto script = demoScript();
  std::size_t demoStep = 0;
  bool demoActed = false;
  std::uint64_t demoTicket = 0;  // the runner's ticket of the step's action
  auto demoSince = Steady::now();
  int shots = 0;
  std::string lastShot;
  // Where each screen is written as it appears: the demo's folder, or --shots.
  const std::string shotsDir = demo ? options.demoDir : options.shotsDir;
  if (!shotsDir.empty()) std::filesystem::create_directories(shotsDir);

  int framesToDraw = kFramesPerChange;
  int framesOnScreen = 0;
  std::string lastScreen;

  // Maintenance's Restart ends the loop once its last sync is over (on a worker).
  while (!window.quitRequested() && !runtime.state().restart) {
    const bool shotPending = !shotsDir.empty() && runtime.screen() != lastShot;
    if (framesToDraw == 0 && !demo && !shotPending) {
      auto wait = untilNextMinute(shownClock);
      if (const auto tick = runtime.tickDue()) wait = std::min(wait, std::max(*tick, 1ms));
      window.waitEvents(wait);
      framesToDraw = kFramesPerChange;
    } else {
      window.waitEvents(demo ? 5ms : 0ms);
    }
    // Each screen is captured before the flow may move on.
    if (!shotPending && runtime.poll()) framesToDraw = kFramesPerChange;
    if (simRunner && simRunner->done() != simSeen) {
      simSeen = simRunner->done();
      framesToDraw = kFramesPerChange;
    }
    const Millis now = steadyMillis();

    for (const auto& [x, y] : window.takePresses()) {
      if (runtime.screen() == "attract" && gesture.tap(x, y, now)) {
        runtime.press(Kind::OpenPinPad);
        framesToDraw = kFramesPerChange;
      }
    }

    const std::string current = runtime.screen();
    const auto screen = [&](ui::Ui& ui) -> ui::Intent {
      return drawFlow(ui, runtime.state(), localClock(shownClock), c.simulation != nullptr);
    };
    const auto panel = [&](ui::Ui& ui) {
      const bool paying = runtime.screen() == "pay" && runtime.lastPay().has_value();
      auto pressed = ui::drawSimulationPanel(ui, simRunner->view(paying));
      if (pressed.kind == sim::SimIntent::Kind::None) return;
      using SimKind = sim::SimIntent::Kind;
      const bool aboutOrder = pressed.kind == SimKind::Pay || pressed.kind == SimKind::Decline ||
                              pressed.kind == SimKind::OpenPayPage;
      if (aboutOrder && !withOrder(pressed)) return;
      simRunner->post(std::move(pressed));
      framesToDraw = kFramesPerChange;
    };
    const auto drawn = ui::drawFrame(window, c.atlas, c.strings, lang, probe, screen,
                                     c.simulation != nullptr && !demo ? std::function<void(ui::Ui&)>(panel)
                                                                      : std::function<void(ui::Ui&)>());
    const ui::Intent intent = drawn.intent;
    if (drawn.atlasGrew) {
      framesToDraw = kFramesPerChange;
      framesOnScreen = 0;
      continue;
    }
    if (framesToDraw > 0) --framesToDraw;
    if (current != lastScreen) {
      lastScreen = current;
      framesOnScreen = 0;
    }
    ++framesOnScreen;

    if (intent.kind == Kind::SwitchLanguage) {
      lang = otherLang(lang);
      framesToDraw = kFramesPerChange;
    } else if (intent.kind != Kind::None) {
      framesToDraw = kFramesPerChange;
      runtime.press(intent.kind, intent.value);
    }

    if (!options.screenshot.empty() && framesOnScreen >= kFramesPerChange) {
      return writeScreenshot(window.capture(), probe, options.screenshot, current, lang) ? 0 : 1;
    }
    if (!shotsDir.empty() && current != lastShot && framesOnScreen >= kFramesPerChange) {
      std::string file = current;
      std::replace(file.begin(), file.end(), ':', '_');
      char prefix[16];  // room for any int: -O2 checks that snprintf cannot truncate
      std::snprintf(prefix, sizeof prefix, "%02d_", ++shots);
      const auto path = (std::filesystem::path(shotsDir) / (prefix + file + ".png")).string();
      if (!writeScreenshot(window.capture(), probe, path, current, lang)) return 1;
      lastShot = current;
    }
    if (demo) {
      const DemoStep& step = script[demoStep];
      if (!demoActed) {
        using D = DemoStep::Do;
        using SimKind = sim::SimIntent::Kind;
        sim::SimIntent act;
        switch (step.what) {
          case D::Nothing: break;
          case D::Insert:
            act.kind = SimKind::Insert;
            act.key = step.arg;
            break;
          case D::Pull: act.kind = SimKind::Pull; break;
          case D::Press: {
            static const std::pair<const char*, Kind> kKeys[] = {
                {"topup", Kind::TopUp}, {"digit", Kind::Digit}, {"confirm", Kind::ConfirmAmount}};
            for (const auto& [name, kind] : kKeys) {
              if (step.arg == name) runtime.press(kind, step.value);
            }
            break;
          }
          case D::Pay:
            act.kind = SimKind::Pay;
            if (!withOrder(act)) {
              spdlog::error("demo: step {} failed: no order to pay", demoStep + 1);
              return 1;
            }
            break;
          case D::Meter:
            act.kind = SimKind::UseMeter;
            act.key = step.arg;
            break;
        }
        demoTicket = act.kind == SimKind::None ? simRunner->done() : simRunner->post(std::move(act));
        demoActed = true;
        demoSince = Steady::now();
      }
      // The step's action is carried out on the runner; its problem ends the demo.
      const bool actionDone = simRunner->done() >= demoTicket;
      if (actionDone && !simRunner->lastProblem().empty()) {
        spdlog::error("demo: step {} failed: {}", demoStep + 1, simRunner->lastProblem());
        return 1;
      }
      if (actionDone && current == step.until && lastShot == current) {
        ++demoStep;
        demoActed = false;
        if (demoStep == script.size()) {
          spdlog::info("demo: finished, {} screenshots in {}", shots, options.demoDir);
          return 0;
        }
      } else if (Steady::now() - demoSince > kDemoStepTimeout) {
        spdlog::error("demo: step {} did not reach the {} screen (showing {})", demoStep + 1,
                      step.until, current);
        return 1;
      }
    }
    window.present();
    firstFrame.presented();
  }
  runtime.queue().setListener({});
  return runtime.state().restart ? kRestartExitCode : 0;
}

}  // namespace kiosk::app
