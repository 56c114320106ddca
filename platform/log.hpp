#pragma once
// Process-wide logging setup: one line per event on stderr (and optionally a rotating file),
// so that kiosk, kiosk-cloud and the tools all log the same way.

#include <spdlog/spdlog.h>

#include <cstddef>
#include <string>
#include <vector>

namespace kiosk::platform {

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  std::string file;            // empty: stderr only
  std::string name = "kiosk";
};

// Installs the default logger. Throws std::invalid_argument for an unknown level
// (a startup error).
void initLogging(const LogOptions& options);

// The last `lines` log lines (at most 200 are kept), oldest first, for maintenance screens.
std::vector<std::string> recentLog(std::size_t lines);

}  // namespace kiosk::platform
