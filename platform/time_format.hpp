#pragma once
// The one formatter for every time shown to a person: an instant (Unix seconds, UTC as stored)
// shown in a named IANA zone, read from the system's zone database (/usr/share/zoneinfo).

#include <cstdint>
#include <string>
#include <string_view>

namespace kiosk::platform {

// Patterns in strftime's notation (date::format's); %Z prints the zone's abbreviation.
inline constexpr std::string_view kDatePattern = "%Y-%m-%d";                 // 2026-11-20
inline constexpr std::string_view kDateTimePattern = "%Y-%m-%d %H:%M";       // 2026-11-20 14:05
inline constexpr std::string_view kDateTimeZonePattern = "%Y-%m-%d %H:%M %Z";  // ... 14:05 CST

inline constexpr std::string_view kUtcZone = "UTC";

// `unixSeconds` in `zone` (e.g. "Asia/Shanghai"), formatted by `pattern`. A zone the database
// does not know falls back to UTC, and the text then ends in " UTC" (unless the pattern prints
// %Z already), so a wrong zone never passes for a right one; the fallback is logged once per
// zone name.
std::string formatTime(std::int64_t unixSeconds, std::string_view zone, std::string_view pattern);

// Whether the zone database knows `zone` ("Asia/Shanghai"): configuration is checked with it.
bool knownZone(std::string_view zone);

// The process's local zone: TZ when it names a zone, else the system's (/etc/localtime),
// else UTC.
std::string localZoneName();

}  // namespace kiosk::platform
