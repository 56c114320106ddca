#include "protocol/masking.hpp"

#include <algorithm>
#include <cstddef>

namespace kiosk::protocol {

std::string maskCardNumber(std::string_view number) {
  if (number.size() <= 4) return std::string(number);
  std::string masked;
  const std::size_t hidden = number.size() - 4;
  // Groups of four counted from the end: the last four characters are always one group.
  for (std::size_t i = 0; i < number.size(); ++i) {
    if (i > 0 && (number.size() - i) % 4 == 0) masked.push_back(' ');
    masked.push_back(i < hidden ? '*' : number[i]);
  }
  return masked;
}

std::string maskName(std::string_view name) {
  if (name.empty()) return {};
  const auto lead = static_cast<unsigned char>(name[0]);
  const std::size_t first = (lead & 0xE0U) == 0xC0U   ? 2
                            : (lead & 0xF0U) == 0xE0U ? 3
                            : (lead & 0xF8U) == 0xF0U ? 4
                                                      : 1;
  return std::string(name.substr(0, std::min(first, name.size()))) + "**";
}

std::string maskAccountId(std::string_view id) {
  if (id.size() <= 4) return std::string(id.size(), '*');
  return std::string(id.substr(0, 2)) + std::string(id.size() - 4, '*') +
         std::string(id.substr(id.size() - 2));
}

}  // namespace kiosk::protocol
