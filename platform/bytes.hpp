#pragma once
// Byte strings as they travel between kiosk, reader, card and cloud, and their hex form (test
// vectors, logs, the API). Vocabulary types of the whole project, like Result.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiosk {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Upper-case hex, no separators: "00A40400" (APDUs and card data, as ISO 7816 writes them).
std::string toHex(ByteView bytes);
// Lower-case hex, no separators: digests, MACs and random ids on the kiosk-cloud API.
std::string toLowerHex(ByteView bytes);
// Accepts upper or lower case, ignores spaces and colons; nullopt on an odd length or a
// character that is not hex.
std::optional<Bytes> fromHex(std::string_view text);

}  // namespace kiosk
