#include "kiosk/app.hpp"

#include "kiosk/frame_stats.hpp"
#include "kiosk/window_loop.hpp"

#include "kiosk/sample_views.hpp"
#include "kiosk/ui/format.hpp"
#include "kiosk/ui/frame.hpp"
#include "kiosk/ui/screens.hpp"
#include "platform/gfx/window.hpp"
#include "platform/time_format.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace kiosk::app {

namespace {

// Draws one screen of the gallery with its sample contents.
ui::Intent drawGallery(ui::Ui& ui, const std::string& screen, const AppOptions& options,
                       AmountView& amount) {
  if (screen == "reading") return ui::drawReading(ui);
  if (screen == "account") return ui::drawAccount(ui, samples::account());
  if (screen == "account:water") return ui::drawAccount(ui, samples::waterAccount());
  if (screen == "account:card_full") {
    auto full = samples::account();
    full.cardFull = true;
    return ui::drawAccount(ui, full);
  }
  if (screen == "account:offline") {
    // What the card alone tells: the meter's balance; the cloud's facts are unknown.
    auto offline = samples::account();
    offline.offline = true;
    offline.holderMasked.clear();
    offline.addressMasked.clear();
    offline.fees.clear();
    offline.recent.clear();
    offline.usage.clear();
    offline.pendingTokens = 0;
    return ui::drawAccount(ui, offline);
  }
  if (screen == "amount") return ui::drawAmount(ui, amount);
  if (screen == "pay") return ui::drawPay(ui, samples::pay());
  if (screen == "pay:offline") {
    auto pay = samples::pay();
    pay.reachable = false;
    return ui::drawPay(ui, pay);
  }
  if (screen == "take_card") return ui::drawTakeCard(ui, samples::takeCard());
  if (screen == "writing") return ui::drawWriting(ui, samples::writing());
  if (screen == "done") return ui::drawDone(ui, samples::done());
  if (screen == "reinsert") return ui::drawReinsert(ui, samples::reinsert());
  if (screen == "out_of_service") return ui::drawOutOfService(ui, samples::outOfService());
  if (screen == "pin") return ui::drawPinPad(ui, samples::pin());
  if (screen == "maintenance") return ui::drawMaintenance(ui, samples::maintenance());
  if (screen == "maintenance:reader_test") {
    auto tested = samples::maintenance();
    tested.readerTest = samples::readerTest();
    return ui::drawMaintenance(ui, tested);
  }
  if (screen == "maintenance:busy") {
    // Both labels of work under way at once, so the gallery checks that each fits its button.
    auto busy = samples::maintenance();
    busy.readerTesting = true;
    busy.restarting = true;
    return ui::drawMaintenance(ui, busy);
  }
  if (screen.rfind("error:", 0) == 0) return ui::drawError(ui, samples::error(screen.substr(6)));
  return ui::drawAttract(ui, {options.kioskId, localClock(platform::SystemClock{}), options.simulate});
}

// Draws a screen until it has settled (ImGui needs a few frames; the atlas may grow) and
// returns the last frame without presenting it.
platform::Image renderSettled(platform::Window& window, platform::FontAtlas& atlas,
                              const Strings& strings, Lang lang, ui::LayoutProbe& probe,
                              const std::function<ui::Intent(ui::Ui&)>& draw) {
  constexpr int kFrames = 3;
  for (int frame = 0; frame < kFrames; ++frame) {
    window.waitEvents(std::chrono::milliseconds(0));
    if (ui::drawFrame(window, atlas, strings, lang, probe, draw).atlasGrew) {
      frame = -1;  // start over with the complete atlas
    }
  }
  return window.capture();
}

// Writes every screen with its sample contents in both languages: DIR/NAME_LANG.png (and
// .layout.json), ':' in a name becoming '_'.
int runGallery(platform::Window& window, platform::FontAtlas& atlas, const Strings& strings,
               const AppOptions& options) {
  std::error_code error;
  std::filesystem::create_directories(options.galleryDir, error);
  if (error) {
    spdlog::error("gallery: cannot create {}: {}", options.galleryDir, error.message());
    return 1;
  }
  ui::LayoutProbe probe;
  AmountView amount = samples::amount();
  for (const auto& screen : samples::screenNames()) {
    for (const Lang lang : {Lang::ZhCN, Lang::En}) {
      const auto image = renderSettled(window, atlas, strings, lang, probe, [&](ui::Ui& ui) {
        return drawGallery(ui, screen, options, amount);
      });
      std::string file = screen;
      std::replace(file.begin(), file.end(), ':', '_');
      const auto path = (std::filesystem::path(options.galleryDir) /
                         (file + "_" + std::string(langCode(lang)) + ".png"))
                            .string();
      if (!writeScreenshot(image, probe, path, screen, lang)) return 1;
    }
  }
  return 0;
}

}  // namespace

std::string localClock(const platform::Clock& clock) {
  return platform::formatTime(clock.unixSeconds(), ui::displayZone(),
                              platform::kDateTimePattern);
}

// The attract screen's clock is the only thing that changes on its own, so an idle loop sleeps
// until the next minute unless an event arrives.
std::chrono::milliseconds untilNextMinute(const platform::Clock& clock) {
  using namespace std::chrono;
  const auto now = clock.now();
  const auto next = ceil<minutes>(now + milliseconds(1));
  return duration_cast<milliseconds>(next - now) + milliseconds(5);
}

bool writeScreenshot(const platform::Image& image, const ui::LayoutProbe& probe,
                     const std::string& path, const std::string& screen, Lang lang) {
  std::string error;
  if (!platform::writePng(image, path, &error)) {
    spdlog::error("screenshot: {}", error);
    return false;
  }
  const std::string layoutPath =
      std::filesystem::path(path).replace_extension(".layout.json").string();
  std::ofstream layout(layoutPath, std::ios::trunc);
  layout << probe.toJson(screen, std::string(langCode(lang)), image.width, image.height);
  layout.close();
  if (!layout) {
    spdlog::error("screenshot: cannot write {}", layoutPath);
    return false;
  }
  spdlog::info("screenshot written to {} ({}x{}), layout to {}", path, image.width, image.height,
               layoutPath);
  return true;
}

int runUi(const AppOptions& options, const LiveRun& live) {
  const Strings strings =
      Strings::loadFile((std::filesystem::path(options.assetsDir) / "i18n/strings.json").string());

  // The simulator at work docks its panel beside the kiosk's screen; sample screens have none.
  const bool column = options.panelColumn && live && options.screen.empty() &&
                      options.galleryDir.empty();
  platform::WindowOptions windowOptions;
  windowOptions.fullscreen = options.fullscreen;
  windowOptions.width =
      options.width + (column ? panelColumnWidth(options.width, options.height) : 0);
  windowOptions.height = options.height;
  const auto window = platform::Window::open(windowOptions);
  const int screenWidth =
      !column ? window->width()
      : options.fullscreen ? screenWidthBesidePanel(window->width(), window->height())
                           : std::min(options.width, window->width());

  platform::FontOptions fontOptions;
  if (!options.fontPath.empty()) fontOptions.path = options.fontPath;
  // ImGui sizes a font by its line height, which for Noto Sans CJK is 1.45 em: a body line of
  // 5% of the shorter side gives 37-pixel ideographs on a 1080-pixel-wide panel.
  fontOptions.basePixels = static_cast<float>(std::min(screenWidth, window->height())) * 0.05F;
  auto texts = strings.allTexts();
  texts.emplace_back("0123456789-:· ");
  platform::FontAtlas atlas(fontOptions, texts);

  if (!options.galleryDir.empty()) return runGallery(*window, atlas, strings, options);

  if (options.screen.empty() && live) return live(UiParts{*window, atlas, strings, screenWidth});

  ui::LayoutProbe probe;
  Lang lang = options.lang;
  const std::string screen = options.screen.empty() ? "attract" : options.screen;
  AmountView amount = samples::amount();
  if (options.frameStats > 0) {
    return runFrameStats(*window, atlas, strings, lang, screen, options.frameStats, std::cout,
                         [&](ui::Ui& ui) { return drawGallery(ui, screen, options, amount); });
  }
  FirstFrameLog firstFrame;
  // ImGui settles hover and layout over a frame or two after any input, so each change is
  // drawn for a few frames; with nothing changing, the loop sleeps in waitEvents().
  constexpr int kFramesPerChange = 3;
  int framesToDraw = kFramesPerChange;
  int framesDrawn = 0;

  while (!window->quitRequested()) {
    if (framesToDraw == 0) {
      // Either an event or the next minute of the clock: both change what is shown.
      window->waitEvents(untilNextMinute(platform::SystemClock{}));
      framesToDraw = kFramesPerChange;
    } else {
      window->waitEvents(std::chrono::milliseconds(0));
    }

    const auto drawn = ui::drawFrame(*window, atlas, strings, lang, probe, [&](ui::Ui& ui) {
      return drawGallery(ui, screen, options, amount);
    });
    const ui::Intent intent = drawn.intent;
    ++framesDrawn;
    --framesToDraw;
    // Text with characters the atlas lacked was drawn as '?': draw again, and do not show (or
    // capture) this frame.
    if (drawn.atlasGrew) {
      framesToDraw = kFramesPerChange;
      framesDrawn = 0;
      continue;
    }

    using Kind = ui::Intent::Kind;
    switch (intent.kind) {
      case Kind::SwitchLanguage: lang = otherLang(lang); break;
      case Kind::Digit:
        if (amount.entered.size() < 6) amount.entered.push_back(static_cast<char>('0' + intent.value));
        break;
      case Kind::Backspace:
        if (!amount.entered.empty()) amount.entered.pop_back();
        break;
      case Kind::Clear: amount.entered.clear(); break;
      case Kind::Preset:
        amount.entered = std::to_string(amount.presetsMinor[static_cast<std::size_t>(intent.value)] / 100);
        break;
      default: break;
    }
    if (intent.kind != Kind::None) framesToDraw = kFramesPerChange;
    if (!options.screenshot.empty() && framesDrawn >= kFramesPerChange) {
      const bool ok =
          writeScreenshot(window->capture(), probe, options.screenshot, screen, lang);
      return ok ? 0 : 1;
    }
    window->present();
    firstFrame.presented();
  }
  return 0;
}

int runKiosk(const UiParts& ui, const AppOptions& options, const RuntimeOptions& runtimeOptions) {
  auto runtime = Runtime::create(runtimeOptions);
  if (!runtime) throw std::runtime_error(runtime.error());
  (*runtime)->start();
  const int code = runWindowLoop({ui.window, ui.atlas, ui.strings, options, **runtime, nullptr,
                                  ui.screenWidth});
  (*runtime)->stop();
  return code;
}

}  // namespace kiosk::app
