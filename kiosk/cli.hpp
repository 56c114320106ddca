#pragma once
// The command-line options both kiosk programs share (kiosk and kiosk-sim): the window, the
// language and assets, the screen gallery, screenshots, logging, and a real kiosk's cloud,
// credentials, journal and reader.

// GCC 12 at -O2 reports a potential null dereference inside CLI11's string splitting when it
// inlines it into a small main() (std::vector<std::string>::emplace_back relocating); the
// warning is about the header's code and is not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include <functional>
#include <string>

#include "kiosk/options.hpp"
#include "kiosk/runtime.hpp"
#include "platform/log.hpp"

namespace kiosk::app {

struct CommonCli {
  AppOptions app;
  platform::LogOptions log;
  RuntimeOptions runtime;  // cloud URL, reader, CA file, key pin, journal, issuer key
  std::string windowed;
  std::string lang = "zh-CN";
  std::string secretFile;
};

// Registers the shared options on `cli`, storing into `out`.
void addCommonOptions(CLI::App& cli, CommonCli& out);

// After parsing: applies --windowed and --lang to out.app. Prints the problem to stderr and
// returns false when either is malformed.
bool finishDisplayOptions(CommonCli& out);

// Fills out.runtime's kiosk id and secret (read from --secret-file). Prints what is missing to
// stderr and returns false when --cloud, --secret-file or --issuer-key is.
bool finishKioskOptions(CommonCli& out, const char* what);

// Runs `run` (the UI), reporting an exception as a startup error (exit code 1). When the code
// it returns is kRestartExitCode (maintenance's restart), starts the same program with the same
// arguments again; returns only if that fails. `cleanup` runs before either.
int runProgram(const char* program, char** argv, const std::function<int()>& run,
               const std::function<void()>& cleanup = {});

// Sets up logging; false (printed) when the log file cannot be opened.
bool startLogging(const CommonCli& options, const char* program);

}  // namespace kiosk::app
