#include "kiosk/window_loop.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "kiosk/frame_stats.hpp"
#include "kiosk/ui/format.hpp"
#include "kiosk/ui/frame.hpp"
#include "kiosk/ui/screens.hpp"
#include "platform/overloaded.hpp"

namespace kiosk::app {

namespace {

using namespace std::chrono_literals;
using Kind = Intent::Kind;
using Steady = std::chrono::steady_clock;

constexpr int kFramesPerChange = 3;  // ImGui settles hover and layout over a frame or two

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
          [&](const screen::TakeCard& s) { return ui::drawTakeCard(ui, s.view); },
          [&](const screen::OutOfService& s) { return ui::drawOutOfService(ui, s.view); },
          [&](const screen::Pin& s) { return ui::drawPinPad(ui, s.view); },
          [&](const screen::Maintenance& s) { return ui::drawMaintenance(ui, s.view); },
      },
      state.screen);
}

}  // namespace

int runWindowLoop(LoopContext c) {
  auto& window = c.window;
  auto& runtime = c.runtime;
  const auto& options = c.options;
  auto* extension = c.extension;
  Lang lang = options.lang;
  ui::LayoutProbe probe;
  FirstFrameLog firstFrame;
  HiddenGesture gesture;
  platform::SystemClock systemClock;
  const platform::Clock& shownClock = extension != nullptr ? extension->clock() : systemClock;
  const bool scripted = extension != nullptr && extension->scripted();
  const int screenWidth = c.screenWidth > 0 ? c.screenWidth : window.width();

  runtime.queue().setListener([] { platform::Window::wake(); });
  runtime.setTrace([](const std::string&) {});

  std::string lastShot;
  int shots = 0;
  const std::string& shotsDir = options.shotsDir;
  if (!shotsDir.empty()) std::filesystem::create_directories(shotsDir);

  int framesToDraw = kFramesPerChange;
  int framesOnScreen = 0;
  std::string lastScreen;

  // Maintenance's Restart ends the loop once its last sync is over (on a worker).
  while (!window.quitRequested() && !runtime.state().restart) {
    const bool shotWanted = !shotsDir.empty() && extension != nullptr && extension->wantsShot();
    const bool shotPending = !shotsDir.empty() && (runtime.screen() != lastShot || shotWanted);
    if (framesToDraw == 0 && !scripted && !shotPending) {
      auto wait = untilNextMinute(shownClock);
      if (const auto tick = runtime.tickDue()) wait = std::min(wait, std::max(*tick, 1ms));
      window.waitEvents(wait);
      framesToDraw = kFramesPerChange;
    } else {
      window.waitEvents(scripted ? 5ms : 0ms);
    }
    // Each screen is captured before the flow may move on.
    if (!shotPending && runtime.poll()) framesToDraw = kFramesPerChange;
    if (extension != nullptr && extension->changed()) framesToDraw = kFramesPerChange;
    const Millis now = steadyMillis();

    // Presses come as fractions of the window; the gesture's corner is the kiosk screen's.
    const float toScreen = screenWidth > 0 ? static_cast<float>(window.width()) /
                                                 static_cast<float>(screenWidth)
                                           : 1.F;
    for (const auto& [x, y] : window.takePresses()) {
      if (x * toScreen > 1.F) continue;  // on the panel's column
      if (runtime.screen() == "attract" && gesture.tap(x * toScreen, y, now)) {
        runtime.press(Kind::OpenPinPad);
        framesToDraw = kFramesPerChange;
      }
    }

    const std::string current = runtime.screen();
    ui::setDisplayZone(runtime.state().service.timeZone);
    const auto screen = [&](ui::Ui& ui) -> ui::Intent {
      return drawFlow(ui, runtime.state(), localClock(shownClock), extension != nullptr);
    };
    const auto panel = [&](ui::Ui& ui, const ui::Rect& column) {
      if (extension->drawPanel(ui, column, runtime)) framesToDraw = kFramesPerChange;
    };
    const auto drawn = ui::drawFrame(window, c.atlas, c.strings, lang, probe, screen,
                                     extension != nullptr ? ui::Beside(panel) : ui::Beside(),
                                     screenWidth);
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
      if (current == "take_card") {
        // The card left in the reader: a tone, where the kiosk has sound, besides the words.
        std::string why;
        if (!window.beep(&why)) spdlog::debug("take card: no sound ({})", why);
      }
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
    if (!shotsDir.empty() && (current != lastShot || shotWanted) &&
        framesOnScreen >= kFramesPerChange) {
      std::string file = current;
      std::replace(file.begin(), file.end(), ':', '_');
      char prefix[16];  // room for any int: -O2 checks that snprintf cannot truncate
      std::snprintf(prefix, sizeof prefix, "%02d_", ++shots);
      const auto path = (std::filesystem::path(shotsDir) / (prefix + file + ".png")).string();
      if (!writeScreenshot(window.capture(), probe, path, current, lang)) return 1;
      lastShot = current;
      if (shotWanted) extension->shotTaken();
    }
    if (extension != nullptr) {
      if (const auto code = extension->afterFrame(runtime, current, lastShot)) {
        if (*code == 0) spdlog::info("{} screenshots in {}", shots, shotsDir);
        return *code;
      }
    }
    window.present();
    firstFrame.presented();
  }
  runtime.queue().setListener({});
  return runtime.state().restart ? kRestartExitCode : 0;
}

}  // namespace kiosk::app
