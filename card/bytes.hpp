#pragma once
// Byte strings as they travel between kiosk, reader and card, and their hex form (test vectors,
// logs, the API).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiosk::card {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Upper-case hex, no separators: "00A40400".
std::string toHex(ByteView bytes);
// Accepts upper or lower case, ignores spaces and colons; nullopt on an odd length or a
// character that is not hex.
std::optional<Bytes> fromHex(std::string_view text);

}  // namespace kiosk::card
