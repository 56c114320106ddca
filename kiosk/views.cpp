#include "kiosk/views.hpp"

#include <fmt/format.h>

namespace kiosk::app {

std::int64_t AmountView::amountMinor() const {
  std::int64_t yuan = 0;
  for (const char c : entered) {
    if (c < '0' || c > '9') return 0;
    yuan = yuan * 10 + (c - '0');
    if (yuan > 1'000'000) return 0;  // the keypad caps input well below this
  }
  return yuan * 100;
}

std::string formatMoney(std::int64_t minor) {
  const bool negative = minor < 0;
  const std::uint64_t magnitude =
      negative ? static_cast<std::uint64_t>(-(minor + 1)) + 1U : static_cast<std::uint64_t>(minor);
  const std::string digits = std::to_string(magnitude / 100U);
  // Group by thousands while copying (an in-place insert trips GCC 12's -Wrestrict at -O2).
  std::string whole;
  whole.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) whole.push_back(',');
    whole.push_back(digits[i]);
  }
  return fmt::format("{}¥{}.{:02}", negative ? "-" : "", whole, magnitude % 100U);
}

std::string formatMoneyShort(std::int64_t minor) {
  std::string text = formatMoney(minor);
  if (minor % 100 == 0) text.resize(text.size() - 3);
  return text;
}

}  // namespace kiosk::app
