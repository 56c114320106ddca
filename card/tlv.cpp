#include "card/tlv.hpp"

namespace kiosk::card {

namespace {

// Number of tag bytes a valid tag value occupies, or 0 if the value is not a well-formed tag.
std::size_t tagLength(std::uint32_t tag) {
  if (tag == 0) return 0;
  if (tag <= 0xFF) return ((tag & 0x1FU) == 0x1FU) ? 0 : 1;
  if (tag <= 0xFFFF) {
    const auto first = tag >> 8U;
    const auto second = tag & 0xFFU;
    if ((first & 0x1FU) != 0x1FU || (second & 0x80U) != 0) return 0;
    return 2;
  }
  if (tag <= 0xFFFFFF) {
    const auto first = tag >> 16U;
    const auto second = (tag >> 8U) & 0xFFU;
    const auto third = tag & 0xFFU;
    if ((first & 0x1FU) != 0x1FU || (second & 0x80U) == 0 || (third & 0x80U) != 0) return 0;
    return 3;
  }
  return 0;
}

}  // namespace

bool Tlv::constructed() const {
  std::uint32_t first = tag;
  while (first > 0xFF) first >>= 8U;
  return (first & 0x20U) != 0;
}

Result<void, CardError> appendTlv(Bytes& out, std::uint32_t tag, ByteView value) {
  const std::size_t tagBytes = tagLength(tag);
  if (tagBytes == 0 || value.size() > 0xFFFF) return fail(CardError::Protocol);
  for (std::size_t i = tagBytes; i > 0; --i) {
    out.push_back(static_cast<std::uint8_t>((tag >> (8U * (i - 1))) & 0xFFU));
  }
  const std::size_t n = value.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else if (n <= 0xFF) {
    out.push_back(0x81);
    out.push_back(static_cast<std::uint8_t>(n));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<std::uint8_t>(n >> 8U));
    out.push_back(static_cast<std::uint8_t>(n & 0xFFU));
  }
  out.insert(out.end(), value.begin(), value.end());
  return {};
}

Result<Bytes, CardError> encodeTlv(std::uint32_t tag, ByteView value) {
  Bytes out;
  auto appended = appendTlv(out, tag, value);
  if (!appended) return fail(appended.error());
  return out;
}

Result<Tlv, CardError> parseTlv(ByteView input, std::size_t& consumed) {
  std::size_t pos = 0;
  const auto next = [&](std::uint8_t& b) {
    if (pos >= input.size()) return false;
    b = input[pos++];
    return true;
  };
  std::uint8_t b = 0;
  if (!next(b)) return fail(CardError::BadData);
  std::uint32_t tag = b;
  if ((b & 0x1FU) == 0x1FU) {
    // Subsequent tag bytes: b8 set means another byte follows; at most three bytes in all.
    for (int i = 0;; ++i) {
      if (i == 2 || !next(b)) return fail(CardError::BadData);
      tag = (tag << 8U) | b;
      if ((b & 0x80U) == 0) break;
    }
  }
  if (tagLength(tag) == 0) return fail(CardError::BadData);
  if (!next(b)) return fail(CardError::BadData);
  std::size_t length = 0;
  if (b < 0x80) {
    length = b;
  } else if (b == 0x81 || b == 0x82) {
    const int count = b - 0x80;
    for (int i = 0; i < count; ++i) {
      if (!next(b)) return fail(CardError::BadData);
      length = (length << 8U) | b;
    }
    // Shortest form only (DER-like), so that every object has one encoding.
    if ((count == 1 && length < 0x80) || (count == 2 && length <= 0xFF)) {
      return fail(CardError::BadData);
    }
  } else {
    return fail(CardError::BadData);  // indefinite or longer than the profile needs
  }
  if (length > input.size() - pos) return fail(CardError::BadData);
  Tlv tlv;
  tlv.tag = tag;
  tlv.value.assign(input.begin() + static_cast<std::ptrdiff_t>(pos),
                   input.begin() + static_cast<std::ptrdiff_t>(pos + length));
  consumed = pos + length;
  return tlv;
}

Result<std::vector<Tlv>, CardError> parseTlvList(ByteView input) {
  std::vector<Tlv> list;
  while (!input.empty()) {
    std::size_t consumed = 0;
    auto tlv = parseTlv(input, consumed);
    if (!tlv) return fail(tlv.error());
    list.push_back(std::move(*tlv));
    input = input.subspan(consumed);
  }
  return list;
}

const Tlv* findTlv(const std::vector<Tlv>& list, std::uint32_t tag) {
  for (const Tlv& tlv : list) {
    if (tlv.tag == tag) return &tlv;
  }
  return nullptr;
}

}  // namespace kiosk::card
