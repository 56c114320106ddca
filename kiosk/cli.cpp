#include "kiosk/cli.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "kiosk/window_loop.hpp"

#include <cctype>
#include <exception>
#include <fstream>
#include <iostream>

namespace kiosk::app {

void addCommonOptions(CLI::App& cli, CommonCli& out) {
  auto& options = out.app;
  cli.add_option("--shots", options.shotsDir,
                 "Write every screen the kiosk shows, as it appears, into this folder "
                 "(NN_SCREEN.png and .layout.json; for support and tests)");
  cli.add_option("--windowed", out.windowed,
                 "Run in a window of WxH pixels instead of fullscreen (e.g. 1080x1920)");
  cli.add_option("--screenshot", options.screenshot,
                 "Render a frame, write it to this PNG file (and FILE.layout.json) and exit");
  cli.add_option("--screen", options.screen,
                 "Show one screen with sample contents (attract, reading, account, amount, pay, "
                 "writing, done, reinsert, out_of_service, error:KIND, pin, maintenance)");
  cli.add_option("--gallery", options.galleryDir,
                 "Write every screen with sample contents, in both languages, as PNG files "
                 "(and .layout.json) into this folder, then exit");
  cli.add_option("--frame-stats", options.frameStats,
                 "Draw the screen continuously for N timed frames, print their times as JSON on "
                 "stdout and exit (for the UI benchmark)")
      ->check(CLI::Range(1, 100000));
  cli.add_option("--lang", out.lang, "Starting language: zh-CN or en")->capture_default_str();
  cli.add_option("--assets", options.assetsDir, "Folder with i18n/strings.json")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  cli.add_option("--font", options.fontPath, "CJK font file (default: Debian's Noto Sans CJK)")
      ->check(CLI::ExistingFile);
  cli.add_option("--kiosk-id", options.kioskId, "This kiosk's id")->capture_default_str();
  cli.add_option("--log-level", out.log.level, "trace, debug, info, warn, error")
      ->capture_default_str();
  cli.add_option("--log-file", out.log.file, "Also log to this file (rotated at 8 MiB)");

  auto& runtime = out.runtime;
  runtime.journal = "kiosk-journal.sqlite";
  cli.add_option("--cloud", runtime.cloudUrl, "Cloud API base URL (https://...)");
  cli.add_option("--secret-file", out.secretFile, "File holding this kiosk's API secret")
      ->check(CLI::ExistingFile);
  cli.add_option("--journal", runtime.journal, "The local journal (SQLite)")->capture_default_str();
  cli.add_option("--issuer-key", runtime.issuerKey, "Card issuer's public key (PEM)")
      ->check(CLI::ExistingFile);
  cli.add_option("--ca-file", runtime.caFile, "CA bundle for the cloud's certificate");
  cli.add_option("--pin-key", runtime.pinnedPublicKey,
                 "Pin the cloud's public key (sha256//BASE64)");
  cli.add_option("--crash-after", runtime.crashAfter,
                 "Testing: kill the process right after this journal step is recorded")
      ->group("");
}

bool finishDisplayOptions(CommonCli& out) {
  if (!out.windowed.empty()) {
    const auto size = parseSize(out.windowed);
    if (!size) {
      std::cerr << "--windowed: expected WIDTHxHEIGHT between 320 and 8192, got \"" << out.windowed
                << "\"\n";
      return false;
    }
    out.app.fullscreen = false;
    out.app.width = size->first;
    out.app.height = size->second;
  }
  if (!parseLang(out.lang, out.app.lang)) {
    std::cerr << "--lang: expected zh-CN or en, got \"" << out.lang << "\"\n";
    return false;
  }
  return true;
}

bool finishKioskOptions(CommonCli& out, const char* what) {
  auto& runtime = out.runtime;
  if (runtime.cloudUrl.empty() || out.secretFile.empty() || runtime.issuerKey.empty()) {
    std::cerr << what << " needs --cloud, --secret-file and --issuer-key (kiosk-sim runs it "
                 "with no cloud and no reader)\n";
    return false;
  }
  std::ifstream secret(out.secretFile);
  std::getline(secret, runtime.secret);
  while (!runtime.secret.empty() && std::isspace(static_cast<unsigned char>(runtime.secret.back()))) {
    runtime.secret.pop_back();
  }
  if (runtime.secret.empty()) {
    std::cerr << "--secret-file: " << out.secretFile << " holds no secret\n";
    return false;
  }
  runtime.kioskId = out.app.kioskId;
  return true;
}

int runProgram(const char* program, char** argv, const std::function<int()>& run,
               const std::function<void()>& cleanup) {
  int code = 1;
  try {
    code = run();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    std::cerr << program << ": " << e.what() << "\n";
    code = 1;
  }
  if (cleanup) cleanup();
  if (code == kRestartExitCode) {
    // Maintenance asked for a restart: the same program and arguments, from the start.
    spdlog::info("restarting");
    spdlog::shutdown();
    ::execv("/proc/self/exe", argv);
    std::cerr << program << ": restart failed; exiting for the service manager to restart\n";
  }
  return code;
}

bool startLogging(const CommonCli& options, const char* program) {
  try {
    platform::initLogging(options.log);
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return false;
  }
  return true;
}

}  // namespace kiosk::app
