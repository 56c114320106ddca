#pragma once
// Date and quantity formatting shared by the screens.

#include "kiosk/views.hpp"

#include <cstdint>
#include <string>

namespace kiosk::ui {

// Every time a person reads is in one zone: the kiosk configuration's (setDisplayZone, from the
// UI thread), else the machine's.
void setDisplayZone(std::string zone);
std::string displayZone();
std::string formatDate(std::int64_t unixSeconds);      // "2026-11-20"
std::string formatDateTime(std::int64_t unixSeconds);  // "2026-11-20 14:05"
// Units (kWh or m3) that `minor` buys at `priceMinorPerUnit`, to the nearest tenth: "26.8".
std::string formatUnits(std::int64_t minor, std::int64_t priceMinorPerUnit);
const char* utilityKey(app::Utility utility);
const char* unitKey(app::Utility utility);

}  // namespace kiosk::ui
