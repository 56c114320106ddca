#pragma once
// The one rule for ids and strings on the kiosk-cloud API. Text that arrives in a request
// (header values, query parameters, JSON strings) is bytes, not necessarily UTF-8: checked by
// the cloud's routes before it reaches the store or an answer, and escaped for a log line.

#include <cstddef>
#include <string>
#include <string_view>

namespace kiosk::protocol {

// Well-formed UTF-8 without control characters (C0, DEL, C1) or the marks that reorder text
// when shown (bidirectional overrides, embeddings, isolates): what any string of a request must
// be before it is looked up, stored or written back.
bool isText(std::string_view text);
// An id (of a kiosk, account, fee, tariff or staff member): 1 to limits::kMaxIdLength of
// [A-Za-z0-9_.-], the characters a route's path segment takes as they are (kIdPattern).
bool isId(std::string_view text);
// The same rule as a regular expression for a route's path segment, capturing the id.
inline constexpr const char* kIdPattern = "([A-Za-z0-9_.-]{1,64})";

// A card or meter number: 1 to limits::kMaxNumberLength decimal digits.
bool isNumber(std::string_view text);
// An order id as the cloud makes them: 1 to limits::kMaxIdLength of [A-Za-z0-9_].
bool isOrderId(std::string_view text);
// A request's nonce: 16 to 64 printable ASCII characters, no space.
bool isNonce(std::string_view text);
// Exactly `length` hexadecimal digits (either case): nonces, challenges.
bool isHexOf(std::string_view text, std::size_t length);

// The text as one log line: bytes that are not printable UTF-8 become \xNN, and anything
// beyond `maxBytes` is cut (marked with "...").
std::string forLog(std::string_view text, std::size_t maxBytes = 200);

}  // namespace kiosk::protocol
