#include "kiosk/ui/format.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>

namespace kiosk::ui {

namespace {
std::tm localTime(std::int64_t unixSeconds) {
  const auto t = static_cast<std::time_t>(unixSeconds);
  std::tm local{};
  localtime_r(&t, &local);
  return local;
}
}  // namespace

std::string formatDate(std::int64_t unixSeconds) {
  return fmt::format("{:%Y-%m-%d}", localTime(unixSeconds));
}

std::string formatDateTime(std::int64_t unixSeconds) {
  return fmt::format("{:%Y-%m-%d %H:%M}", localTime(unixSeconds));
}

std::string formatUnits(std::int64_t minor, std::int64_t priceMinorPerUnit) {
  if (priceMinorPerUnit <= 0 || minor <= 0) return "0.0";
  // Tenths of a unit, rounded down: the estimate never promises more than the meter gives.
  const std::int64_t tenths = minor * 10 / priceMinorPerUnit;
  return fmt::format("{}.{}", tenths / 10, tenths % 10);
}

const char* utilityKey(app::Utility utility) {
  return utility == app::Utility::Electricity ? "utility.electricity" : "utility.water";
}

const char* unitKey(app::Utility utility) {
  return utility == app::Utility::Electricity ? "unit.electricity" : "unit.water";
}

}  // namespace kiosk::ui
