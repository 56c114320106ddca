#include "platform/time_format.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <set>

namespace kiosk::platform {

namespace {

const date::time_zone* findZone(std::string_view name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

// A misconfigured zone would otherwise log at every redraw of the clock.
void warnOnce(std::string_view zone) {
  static std::mutex mutex;
  static std::set<std::string, std::less<>> warned;
  std::lock_guard lock(mutex);
  if (warned.insert(std::string(zone)).second) {
    spdlog::warn("time: unknown time zone \"{}\", showing UTC", zone);
  }
}

}  // namespace

std::string formatTime(std::int64_t unixSeconds, std::string_view zone, std::string_view pattern) {
  const date::sys_seconds instant{std::chrono::seconds{unixSeconds}};
  const std::string format(pattern);
  if (const date::time_zone* found = findZone(zone)) {
    return date::format(format, date::make_zoned(found, instant));
  }
  warnOnce(zone);
  std::string text = date::format(format, instant);
  if (pattern.find("%Z") == std::string_view::npos) text += " UTC";
  return text;
}

bool knownZone(std::string_view zone) { return !zone.empty() && findZone(zone) != nullptr; }

std::string localZoneName() {
  // localtime_r honoured TZ; so does the kiosk, for a unit that sets Environment=TZ=.
  if (const char* tz = std::getenv("TZ"); tz != nullptr && *tz != '\0') {
    std::string_view name(tz);
    if (name.front() == ':') name.remove_prefix(1);
    if (findZone(name) != nullptr) return std::string(name);
  }
  try {
    return date::current_zone()->name();
  } catch (const std::exception&) {
    return std::string(kUtcZone);  // no /etc/localtime (a bare container): what localtime_r did
  }
}

}  // namespace kiosk::platform
