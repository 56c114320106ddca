#pragma once
// Process-wide logging setup: one line per event on stderr (and optionally a rotating file),
// so that kiosk, kiosk-cloud and the tools all log the same way.

#include <spdlog/spdlog.h>

#include <string>

namespace kiosk::platform {

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  std::string file;            // empty: stderr only
  std::string name = "kiosk";
};

// Installs the default logger. Throws std::invalid_argument for an unknown level
// (a startup error).
void initLogging(const LogOptions& options);

}  // namespace kiosk::platform
