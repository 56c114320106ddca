#include "protocol/text.hpp"

#include "protocol/limits.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace kiosk::protocol {
namespace {

// The length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0.
std::size_t sequenceAt(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  std::uint8_t low = 0x80;
  std::uint8_t high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

bool isControl(std::uint8_t c) { return c < 0x20 || c == 0x7F; }

// The code point of the well-formed sequence of `length` bytes at text[i].
std::uint32_t codePoint(std::string_view text, std::size_t i, std::size_t length) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<std::uint8_t>(text[k])); };
  if (length == 1) return byte(i);
  std::uint32_t cp = byte(i) & (0xFFU >> (length + 1));
  for (std::size_t k = 1; k < length; ++k) cp = (cp << 6U) | (byte(i + k) & 0x3FU);
  return cp;
}

// C1 controls, and the marks that reorder text when it is shown (a name that reads one way
// and is stored another): bidirectional embeddings, overrides and isolates.
bool isHiddenControl(std::uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F || cp == 0x061C;
}

bool isIdCharacter(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
}

}  // namespace

bool isText(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = sequenceAt(text, i);
    if (length == 0 || (length == 1 && isControl(static_cast<std::uint8_t>(text[i])))) return false;
    if (length > 1 && isHiddenControl(codePoint(text, i, length))) return false;
    i += length;
  }
  return true;
}

bool isId(std::string_view text) {
  return !text.empty() && text.size() <= limits::kMaxIdLength &&
         std::all_of(text.begin(), text.end(), isIdCharacter);
}

std::string forLog(std::string_view text, std::size_t maxBytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::size_t i = 0;
  while (i < text.size() && out.size() < maxBytes) {
    const std::size_t length = sequenceAt(text, i);
    const auto c = static_cast<std::uint8_t>(text[i]);
    if (length == 0 || (length == 1 && isControl(c))) {
      out += "\\x";
      out += kHex[c >> 4U];
      out += kHex[c & 0x0FU];
      ++i;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
  if (i < text.size()) out += "...";
  return out;
}

bool isNumber(std::string_view text) {
  return !text.empty() && text.size() <= limits::kMaxNumberLength &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

bool isOrderId(std::string_view text) {
  return !text.empty() && text.size() <= limits::kMaxIdLength &&
         std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '_'; });
}

bool isHexOf(std::string_view text, std::size_t length) {
  return text.size() == length &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

bool isNonce(std::string_view text) {
  return text.size() >= 16 && text.size() <= 64 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return c > 0x20 && c < 0x7F; });
}

}  // namespace kiosk::protocol
