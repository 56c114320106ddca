// kiosk: the self-service recharge kiosk for prepaid utility IC cards.

#include "kiosk/app.hpp"
#include "platform/log.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <exception>
#include <iostream>

int main(int argc, char** argv) {
  using kiosk::app::AppOptions;
  AppOptions options;
  kiosk::platform::LogOptions log;
  std::string windowed;
  std::string lang = "zh-CN";

  CLI::App cli{"Self-service recharge kiosk for prepaid electricity and water IC cards."};
  cli.set_version_flag("--version", KIOSK_VERSION);
  cli.add_flag("--simulate", options.simulate,
               "Simulation mode: no hardware needed (virtual reader, cards and cloud)");
  cli.add_option("--windowed", windowed,
                 "Run in a window of WxH pixels instead of fullscreen (e.g. 1080x1920)");
  cli.add_option("--screenshot", options.screenshot,
                 "Render a frame, write it to this PNG file (and FILE.layout.json) and exit");
  cli.add_option("--screen", options.screen,
                 "Show one screen with sample contents (attract, reading, account, amount, pay, "
                 "writing, done, reinsert, out_of_service, error:KIND, pin, maintenance)");
  cli.add_option("--gallery", options.galleryDir,
                 "Write every screen with sample contents, in both languages, as PNG files "
                 "(and .layout.json) into this folder, then exit");
  cli.add_option("--lang", lang, "Starting language: zh-CN or en")->capture_default_str();
  cli.add_option("--assets", options.assetsDir, "Folder with i18n/strings.json")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  cli.add_option("--font", options.fontPath, "CJK font file (default: Debian's Noto Sans CJK)")
      ->check(CLI::ExistingFile);
  cli.add_option("--kiosk-id", options.kioskId, "This kiosk's id")->capture_default_str();
  cli.add_option("--log-level", log.level, "trace, debug, info, warn, error")
      ->capture_default_str();
  cli.add_option("--log-file", log.file, "Also log to this file (rotated at 8 MiB)");
  CLI11_PARSE(cli, argc, argv);

  if (!windowed.empty()) {
    const auto size = kiosk::app::parseSize(windowed);
    if (!size) {
      std::cerr << "--windowed: expected WIDTHxHEIGHT between 320 and 8192, got \"" << windowed
                << "\"\n";
      return 2;
    }
    options.fullscreen = false;
    options.width = size->first;
    options.height = size->second;
  }
  if (!kiosk::app::parseLang(lang, options.lang)) {
    std::cerr << "--lang: expected zh-CN or en, got \"" << lang << "\"\n";
    return 2;
  }

  try {
    kiosk::platform::initLogging(log);
    return kiosk::app::runUi(options);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    std::cerr << "kiosk: " << e.what() << "\n";
    return 1;
  }
}
