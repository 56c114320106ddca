#include "kiosk/ui/format.hpp"

#include <fmt/format.h>

#include "platform/time_format.hpp"

namespace kiosk::ui {

namespace {
// The zone of the kiosk's configuration once there is one; the machine's until then. Set and
// read on the UI thread only.
std::string& displayZoneSetting() {
  static std::string zone;
  return zone;
}
}  // namespace

void setDisplayZone(std::string zone) { displayZoneSetting() = std::move(zone); }

std::string displayZone() {
  const std::string& zone = displayZoneSetting();
  return zone.empty() ? platform::localZoneName() : zone;
}

std::string formatDate(std::int64_t unixSeconds) {
  return platform::formatTime(unixSeconds, displayZone(), platform::kDatePattern);
}

std::string formatDateTime(std::int64_t unixSeconds) {
  return platform::formatTime(unixSeconds, displayZone(), platform::kDateTimePattern);
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
