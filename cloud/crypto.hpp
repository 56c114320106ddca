#pragma once
// The digests, MACs and random values the cloud needs for request signing, webhooks, PIN
// hashes and identifiers, on OpenSSL 3's EVP APIs.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiosk::cloud {

std::string sha256Hex(std::string_view data);
// Lower-case hex of HMAC-SHA256(key, data).
std::string hmacSha256Hex(std::string_view key, std::string_view data);
// Compares two strings in time independent of where they differ.
bool constantTimeEqual(std::string_view a, std::string_view b);
// `bytes` random bytes from the OpenSSL DRBG, as lower-case hex.
std::string randomHex(std::size_t bytes);
// PBKDF2-HMAC-SHA256 of a PIN, lower-case hex of `length` bytes.
std::string pbkdf2Hex(std::string_view pin, std::string_view saltHex, int iterations,
                      std::size_t length = 32);

// The string a kiosk signs: method, request target (path and query as sent), timestamp,
// nonce and the SHA-256 of the body, one per line.
std::string canonicalRequest(std::string_view method, std::string_view target,
                             std::string_view timestamp, std::string_view nonce,
                             std::string_view body);

}  // namespace kiosk::cloud
