#pragma once
// ISO 7816-4 short APDUs (cases 1 to 4) and status words: build and strictly parse commands
// and responses as they travel between kiosk, reader and card.

#include <cstdint>
#include <optional>
#include <string_view>

#include "platform/bytes.hpp"
#include "card/error.hpp"
#include "platform/result.hpp"

namespace kiosk::card {

// Status words the profile uses, with their ISO 7816-4 meaning.
namespace sw {
inline constexpr std::uint16_t kOk = 0x9000;
inline constexpr std::uint16_t kEndOfFile = 0x6282;           // fewer bytes than Le
inline constexpr std::uint16_t kMemoryFailure = 0x6581;
inline constexpr std::uint16_t kWrongLength = 0x6700;
inline constexpr std::uint16_t kSecurityStatus = 0x6982;      // security status not satisfied
inline constexpr std::uint16_t kAuthBlocked = 0x6983;
inline constexpr std::uint16_t kConditionsNotSatisfied = 0x6985;
inline constexpr std::uint16_t kCommandNotAllowed = 0x6986;   // no current EF
inline constexpr std::uint16_t kSmDataIncorrect = 0x6988;     // SM MAC wrong
inline constexpr std::uint16_t kWrongData = 0x6A80;
inline constexpr std::uint16_t kFunctionNotSupported = 0x6A81;
inline constexpr std::uint16_t kFileNotFound = 0x6A82;
inline constexpr std::uint16_t kRecordNotFound = 0x6A83;
inline constexpr std::uint16_t kNotEnoughMemory = 0x6A84;     // credit ring full
inline constexpr std::uint16_t kWrongP1P2 = 0x6A86;
inline constexpr std::uint16_t kWrongOffset = 0x6B00;
inline constexpr std::uint16_t kInsNotSupported = 0x6D00;
inline constexpr std::uint16_t kClaNotSupported = 0x6E00;
inline constexpr std::uint16_t kUnknown = 0x6F00;
}  // namespace sw

// "6A82 file not found"; "61xx more data available" and "6Cxx wrong Le" by family.
std::string_view statusWordName(std::uint16_t statusWord);
// The card error an unexpected status word stands for (6A82 -> ForeignCard after SELECT is
// decided by the caller; this is the generic mapping).
CardError statusWordError(std::uint16_t statusWord);

// A command APDU. Short form only: Lc 1..255 (no data: case 1/2), Le 1..256 (absent: case 1/3).
struct Apdu {
  std::uint8_t cla = 0x00;
  std::uint8_t ins = 0x00;
  std::uint8_t p1 = 0x00;
  std::uint8_t p2 = 0x00;
  Bytes data;                       // at most 255 bytes
  std::optional<std::uint16_t> le;  // 1..256; 256 is encoded as 00

  bool operator==(const Apdu&) const = default;
};

// Case 1: header only; case 2: header + Le; case 3: header + Lc + data; case 4: all.
// Fails with Protocol when data exceeds 255 bytes or Le is outside 1..256.
Result<Bytes, CardError> encodeApdu(const Apdu& apdu);
// Strict: rejects anything that is not exactly one of the four short cases (Protocol).
Result<Apdu, CardError> parseApdu(ByteView command);

// A response APDU: data followed by SW1 SW2.
struct Response {
  Bytes data;
  std::uint16_t sw = 0;

  bool ok() const { return sw == sw::kOk; }
  bool operator==(const Response&) const = default;
};

// Fails with Protocol when the response is shorter than the two status bytes.
Result<Response, CardError> parseResponse(ByteView response);
Bytes encodeResponse(ByteView data, std::uint16_t statusWord);
Bytes encodeResponse(std::uint16_t statusWord);

}  // namespace kiosk::card
