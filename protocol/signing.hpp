#pragma once
// Request signing between kiosk and kiosk-cloud, written once for both sides: the canonical
// request, its HMAC-SHA256 and the headers that carry it; and the digests, random values and
// PIN hashes the contract relies on. On OpenSSL 3's EVP APIs.

#include <cstddef>
#include <string>
#include <string_view>

namespace kiosk::protocol {

// The headers of a signed kiosk request (docs/api.md, "Signing").
inline constexpr const char* kKioskIdHeader = "X-Kiosk-Id";
inline constexpr const char* kTimestampHeader = "X-Timestamp";
inline constexpr const char* kNonceHeader = "X-Nonce";
inline constexpr const char* kSignatureHeader = "X-Signature";

// Lower-case hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);
// Lower-case hex of HMAC-SHA256(key, data).
std::string hmacSha256Hex(std::string_view key, std::string_view data);
// Compares two strings in time independent of where they differ.
bool constantTimeEqual(std::string_view a, std::string_view b);
// `bytes` random bytes from the OpenSSL DRBG, as lower-case hex.
std::string randomHex(std::size_t bytes);

// The string a kiosk signs: method, request target (path and query as sent), timestamp,
// nonce and the SHA-256 of the body, one per line, no trailing newline:
// "POST\n/v1/kiosk/orders\n1767225600\n<nonce>\n<sha256 hex of body>".
std::string canonicalRequest(std::string_view method, std::string_view target,
                             std::string_view timestamp, std::string_view nonce,
                             std::string_view body);
// X-Signature's value: HMAC-SHA256 of the canonical request with the kiosk's secret.
std::string requestSignature(std::string_view secret, std::string_view method,
                             std::string_view target, std::string_view timestamp,
                             std::string_view nonce, std::string_view body);

// Staff PINs: the cloud stores and sends PBKDF2-HMAC-SHA256 hashes, a kiosk checks a typed
// PIN against them offline.
inline constexpr const char* kPinAlgorithm = "PBKDF2-HMAC-SHA256";
// PBKDF2-HMAC-SHA256 of a PIN with a hex salt, lower-case hex of `length` bytes; empty when
// the salt is not hex.
std::string pbkdf2Hex(std::string_view pin, std::string_view saltHex, int iterations,
                      std::size_t length = 32);

}  // namespace kiosk::protocol
