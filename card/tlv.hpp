#pragma once
// BER-TLV (ISO 7816-4 / X.690 subset) as used in card files: tags of one to three bytes,
// definite lengths of one to three bytes (up to 65535). Strict parsing, never out of bounds.

#include <cstdint>
#include <optional>
#include <vector>

#include "platform/bytes.hpp"
#include "card/error.hpp"
#include "platform/result.hpp"

namespace kiosk::card {

struct Tlv {
  std::uint32_t tag = 0;  // the tag bytes big-endian: 0x5A, 0xDF01, 0x9F7F01
  Bytes value;

  bool constructed() const;  // bit 6 of the first tag byte
  bool operator==(const Tlv&) const = default;
};

// Appends tag, length and value. Fails (Protocol) on a malformed tag number or a value
// longer than 65535 bytes.
Result<void, CardError> appendTlv(Bytes& out, std::uint32_t tag, ByteView value);
Result<Bytes, CardError> encodeTlv(std::uint32_t tag, ByteView value);

// One TLV at the start of `input`; `consumed` receives its total size.
Result<Tlv, CardError> parseTlv(ByteView input, std::size_t& consumed);
// A sequence of TLVs that must fill `input` exactly (BadData otherwise). Padding bytes
// 00 and FF between objects are not allowed: card files of the profile have none.
Result<std::vector<Tlv>, CardError> parseTlvList(ByteView input);

// The first object with `tag`, or nullptr.
const Tlv* findTlv(const std::vector<Tlv>& list, std::uint32_t tag);

}  // namespace kiosk::card
