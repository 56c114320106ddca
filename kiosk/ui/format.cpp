#include "kiosk/ui/format.hpp"

#include <fmt/format.h>

#include "platform/time_format.hpp"

namespace kiosk::ui {

std::string formatDate(std::int64_t unixSeconds) {
  return platform::formatTime(unixSeconds, platform::localZoneName(), platform::kDatePattern);
}

std::string formatDateTime(std::int64_t unixSeconds) {
  return platform::formatTime(unixSeconds, platform::localZoneName(), platform::kDateTimePattern);
}

std::string formatUnits(std::int64_t minor, std::int64_t priceMinorPerUnit) {
  if (priceMinorPerUnit <= 0 || minor <= 0) return "0.0";
  // Tenths of a unit, to the nearest (half up): an estimate, said "about" on the screen.
  const std::int64_t tenths = (minor * 20 / priceMinorPerUnit + 1) / 2;
  return fmt::format("{}.{}", tenths / 10, tenths % 10);
}

const char* utilityKey(app::Utility utility) {
  return utility == app::Utility::Electricity ? "utility.electricity" : "utility.water";
}

const char* unitKey(app::Utility utility) {
  return utility == app::Utility::Electricity ? "unit.electricity" : "unit.water";
}

}  // namespace kiosk::ui
