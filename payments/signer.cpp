#include "payments/signer.hpp"

#include "protocol/signing.hpp"

namespace kiosk::payments {

RequestSigner::RequestSigner(std::string kioskId, std::string secret, const platform::Clock& clock)
    : m_kioskId(std::move(kioskId)), m_secret(std::move(secret)), m_clock(clock) {}

std::vector<std::pair<std::string, std::string>> RequestSigner::sign(std::string_view method,
                                                                     std::string_view target,
                                                                     std::string_view body) const {
  const std::string timestamp = std::to_string(m_clock.unixSeconds());
  const std::string nonce = protocol::randomHex(16);
  return {{protocol::kKioskIdHeader, m_kioskId},
          {protocol::kTimestampHeader, timestamp},
          {protocol::kNonceHeader, nonce},
          {protocol::kSignatureHeader,
           protocol::requestSignature(m_secret, method, target, timestamp, nonce, body)}};
}

}  // namespace kiosk::payments
