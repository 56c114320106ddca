#pragma once
// The kiosk's side of request signing (protocol/signing.hpp): its id and secret, a fresh nonce
// and the current time for each request, sent as X-Kiosk-Id, X-Timestamp, X-Nonce and
// X-Signature.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/clock.hpp"

namespace kiosk::payments {

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
