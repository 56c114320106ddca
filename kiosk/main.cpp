// kiosk: the self-service recharge kiosk for prepaid utility IC cards.

#include "kiosk/app.hpp"
#include "kiosk/headless.hpp"
#include "kiosk/live.hpp"
#include "platform/log.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>

#include <unistd.h>

int main(int argc, char** argv) {
  using kiosk::app::AppOptions;
  AppOptions options;
  kiosk::platform::LogOptions log;
  std::string windowed;
  std::string lang = "zh-CN";

  CLI::App cli{"Self-service recharge kiosk for prepaid electricity and water IC cards."};
  cli.set_version_flag("--version", KIOSK_VERSION);
  cli.add_flag("--simulate", options.simulate,
               "Simulation mode: no hardware needed (embedded cloud on loopback, virtual reader, "
               "demo cards and meters, a simulation panel)");
  cli.add_option("--state-dir", options.stateDir,
                 "Simulation: folder for the embedded cloud's database, keys, card files and the "
                 "journal (default: $XDG_STATE_HOME/kiosk-simulation or ~/.local/state/...)");
  cli.add_flag("--demo", options.demo,
               "Simulation: perform a scripted top-up, write a screenshot of every screen into "
               "--demo-dir, and exit (0: the whole top-up went through)");
  cli.add_option("--demo-dir", options.demoDir, "Where --demo writes its screenshots")
      ->capture_default_str();
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

  // Headless: the flow and the transaction engine driven by a scenario, no window.
  bool headless = false;
  kiosk::app::HeadlessOptions run;
  std::string secretFile;
  std::string vpcd = "127.0.0.1:35963";
  std::string journal = "kiosk-journal.sqlite";
  std::string issuerKey;
  cli.add_flag("--headless", headless, "Run without a window, driven by --script");
  cli.add_option("--script", run.script, "Scenario for --headless (see docs/operations.md)")
      ->check(CLI::ExistingFile);
  cli.add_option("--cloud", run.runtime.cloudUrl, "Cloud API base URL (https://...)");
  cli.add_option("--secret-file", secretFile, "File holding this kiosk's API secret")
      ->check(CLI::ExistingFile);
  cli.add_option("--journal", journal, "The local journal (SQLite)")->capture_default_str();
  cli.add_option("--issuer-key", issuerKey, "Card issuer's public key (PEM)")
      ->check(CLI::ExistingFile);
  cli.add_option("--reader", run.runtime.reader,
                 "PC/SC reader (default: the first one). With --simulate: \"pcsc\" serves the "
                 "demo cards on vpcd and reads them through pcscd (default: an in-process reader)");
  cli.add_option("--vpcd", vpcd,
                 "Where --headless and --simulate --reader pcsc serve virtual cards (vpcd HOST:PORT)")
      ->capture_default_str();
  cli.add_option("--ca-file", run.runtime.caFile, "CA bundle for the cloud's certificate");
  cli.add_option("--pin-key", run.runtime.pinnedPublicKey,
                 "Pin the cloud's public key (sha256//BASE64)");
  cli.add_option("--crash-after", run.runtime.crashAfter,
                 "Testing: kill the process right after this journal step is recorded")
      ->group("");
  CLI11_PARSE(cli, argc, argv);

  const auto colon = vpcd.rfind(':');
  int vpcdPort = 0;
  if (colon == std::string::npos || (vpcdPort = std::atoi(vpcd.c_str() + colon + 1)) <= 0 ||
      vpcdPort > 65535) {
    std::cerr << "--vpcd: expected HOST:PORT, got \"" << vpcd << "\"\n";
    return 2;
  }
  // A real kiosk (headless or windowed) talks to its cloud with its own credentials.
  const bool real = headless || (!options.simulate && options.screen.empty() && options.galleryDir.empty());
  if (real) {
    if (run.runtime.cloudUrl.empty() || secretFile.empty() || issuerKey.empty() ||
        (headless && run.script.empty())) {
      std::cerr << (headless ? "--headless needs --script, --cloud, --secret-file and --issuer-key\n"
                             : "the kiosk needs --cloud, --secret-file and --issuer-key "
                               "(or --simulate to try it without a cloud and a reader)\n");
      return 2;
    }
    std::ifstream secret(secretFile);
    std::getline(secret, run.runtime.secret);
    while (!run.runtime.secret.empty() && std::isspace(static_cast<unsigned char>(run.runtime.secret.back()))) {
      run.runtime.secret.pop_back();
    }
    run.runtime.kioskId = options.kioskId;
    run.runtime.journal = journal;
    run.runtime.issuerKey = issuerKey;
  }
  run.vpcdHost = vpcd.substr(0, colon);
  run.vpcdPort = static_cast<std::uint16_t>(vpcdPort);
  options.vpcdHost = run.vpcdHost;
  options.vpcdPort = vpcdPort;
  options.readerPcsc = options.simulate && !run.runtime.reader.empty() && run.runtime.reader != "local";
  if (options.readerPcsc && run.runtime.reader != "pcsc") options.pcscReader = run.runtime.reader;

  if (headless) {
    try {
      kiosk::platform::initLogging(log);
    } catch (const std::exception& e) {
      std::cerr << "kiosk: " << e.what() << "\n";
      return 2;
    }
    return kiosk::app::runHeadless(run, std::cout);
  }

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
    const int code = kiosk::app::runUi(options, real ? &run.runtime : nullptr);
    if (code == kiosk::app::kRestartExitCode) {
      // Maintenance asked for a restart: the same program and arguments, from the start.
      spdlog::info("restarting");
      spdlog::shutdown();
      ::execv("/proc/self/exe", argv);
      std::cerr << "kiosk: restart failed; exiting for the service manager to restart\n";
    }
    return code;
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    std::cerr << "kiosk: " << e.what() << "\n";
    return 1;
  }
}
