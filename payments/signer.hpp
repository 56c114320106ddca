#pragma once
// Request signing as the cloud verifies it: HMAC-SHA256 with the kiosk's secret over the
// method, the request target (path and query as sent), a Unix timestamp, a fresh nonce and
// the SHA-256 of the body, one per line; sent as X-Kiosk-Id, X-Timestamp, X-Nonce and
// X-Signature (lower-case hex).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/clock.hpp"

namespace kiosk::payments {

std::string sha256Hex(std::string_view data);
std::string hmacSha256Hex(std::string_view key, std::string_view data);
// Lower-case hex of `bytes` random bytes (OpenSSL's DRBG).
std::string randomHex(std::size_t bytes);

// "POST\n/v1/kiosk/orders\n1767225600\n<nonce>\n<sha256 hex of body>"
std::string canonicalRequest(std::string_view method, std::string_view target,
                             std::string_view timestamp, std::string_view nonce,
                             std::string_view body);

class RequestSigner {
 public:
  RequestSigner(std::string kioskId, std::string secret, const platform::Clock& clock);
  // The four headers for one request; a new nonce each call.
  std::vector<std::pair<std::string, std::string>> sign(std::string_view method,
                                                        std::string_view target,
                                                        std::string_view body) const;
  const std::string& kioskId() const { return m_kioskId; }

 private:
  std::string m_kioskId;
  std::string m_secret;
  const platform::Clock& m_clock;
};

}  // namespace kiosk::payments
