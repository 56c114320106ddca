#include "platform/bytes.hpp"

namespace kiosk {

namespace {

std::string hexWith(ByteView bytes, const char (&digits)[17]) {
  std::string text;
  text.reserve(bytes.size() * 2);
  for (const std::uint8_t b : bytes) {
    text.push_back(digits[b >> 4U]);
    text.push_back(digits[b & 0x0FU]);
  }
  return text;
}

}  // namespace

std::string toHex(ByteView bytes) { return hexWith(bytes, "0123456789ABCDEF"); }

std::string toLowerHex(ByteView bytes) { return hexWith(bytes, "0123456789abcdef"); }

std::optional<Bytes> fromHex(std::string_view text) {
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Bytes out;
  out.reserve(text.size() / 2);
  int high = -1;
  for (const char c : text) {
    if (c == ' ' || c == ':') continue;
    const int value = nibble(c);
    if (value < 0) return std::nullopt;
    if (high < 0) {
      high = value;
    } else {
      out.push_back(static_cast<std::uint8_t>((high << 4) | value));
      high = -1;
    }
  }
  if (high >= 0) return std::nullopt;
  return out;
}

}  // namespace kiosk
