#include "kiosk/app.hpp"

#include "kiosk/ui/screens.hpp"
#include "platform/gfx/window.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>

namespace kiosk::app {

namespace {

std::string localClock() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &local);
  return text;
}

// Milliseconds until the next minute starts: the attract screen's clock is the only thing that
// changes on its own, so the loop sleeps until then unless an event arrives.
std::chrono::milliseconds untilNextMinute() {
  using namespace std::chrono;
  const auto now = system_clock::now();
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

}  // namespace

int runUi(const AppOptions& options) {
  const Strings strings =
      Strings::loadFile((std::filesystem::path(options.assetsDir) / "i18n/strings.json").string());

  platform::WindowOptions windowOptions;
  windowOptions.fullscreen = options.fullscreen;
  windowOptions.width = options.width;
  windowOptions.height = options.height;
  const auto window = platform::Window::open(windowOptions);

  platform::FontOptions fontOptions;
  if (!options.fontPath.empty()) fontOptions.path = options.fontPath;
  // ImGui sizes a font by its line height, which for Noto Sans CJK is 1.45 em: a body line of
  // 5% of the shorter side gives 37-pixel ideographs on a 1080-pixel-wide panel.
  fontOptions.basePixels =
      static_cast<float>(std::min(window->width(), window->height())) * 0.05F;
  auto texts = strings.allTexts();
  texts.emplace_back("0123456789-:· ");
  const platform::Fonts fonts = platform::loadFonts(fontOptions, texts);

  ui::LayoutProbe probe;
  Lang lang = options.lang;
  // ImGui settles hover and layout over a frame or two after any input, so each change is
  // drawn for a few frames; with nothing changing, the loop sleeps in waitEvents().
  constexpr int kFramesPerChange = 3;
  int framesToDraw = kFramesPerChange;
  int framesDrawn = 0;

  while (!window->quitRequested()) {
    if (framesToDraw == 0) {
      // Either an event or the next minute of the clock: both change what is shown.
      window->waitEvents(untilNextMinute());
      framesToDraw = kFramesPerChange;
    } else {
      window->waitEvents(std::chrono::milliseconds(0));
    }

    window->beginFrame();
    ui::Ui ui{strings, lang, fonts, probe, {},
              ImVec2(static_cast<float>(window->width()), static_cast<float>(window->height()))};
    ui::beginScreen(ui);
    const ui::Intent intent =
        ui::drawAttract(ui, {options.kioskId, localClock(), options.simulate});
    ui::endScreen();
    window->endFrame();
    ++framesDrawn;
    --framesToDraw;

    if (intent == ui::Intent::SwitchLanguage) {
      lang = otherLang(lang);
      framesToDraw = kFramesPerChange;
    }
    if (!options.screenshot.empty() && framesDrawn >= kFramesPerChange) {
      const bool ok =
          writeScreenshot(window->capture(), probe, options.screenshot, "attract", lang);
      return ok ? 0 : 1;
    }
    window->present();
  }
  return 0;
}

}  // namespace kiosk::app
