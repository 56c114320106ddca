#include "cloud/server_impl.hpp"
#include "protocol/limits.hpp"
#include "protocol/text.hpp"

#include <algorithm>
#include <cstdlib>

// Request authentication: kiosks sign every request (HMAC over the canonical request, a
// timestamp and a nonce); operators present a bearer token.

namespace kiosk::cloud {
namespace {

namespace limits = protocol::limits;

}  // namespace

CloudResult<KioskCaller> Server::Impl::verifyKiosk(const http::Request& req) {
  const std::string kioskId = req.header(protocol::kKioskIdHeader);
  const std::string timestamp = req.header(protocol::kTimestampHeader);
  const std::string nonce = req.header(protocol::kNonceHeader);
  const std::string signature = req.header(protocol::kSignatureHeader);
  if (kioskId.empty() || timestamp.empty() || nonce.empty() || signature.empty()) {
    return failWith(CloudError::Unauthorized,
                    "X-Kiosk-Id, X-Timestamp, X-Nonce and X-Signature are required");
  }
  // Header values are bytes: an id that no kiosk can have is not looked up (the database
  // would refuse bytes that are not UTF-8) nor written back.
  if (kioskId.size() > limits::kMaxIdLength || !protocol::isText(kioskId)) {
    return failWith(CloudError::UnknownKiosk, "unknown kiosk (X-Kiosk-Id is not a kiosk id)");
  }
  KIOSK_TRY(kiosk, cachedKioskAuth(kioskId));
  const std::string expected =
      protocol::requestSignature(kiosk->secret, req.method, req.target, timestamp, nonce, req.body);
  if (!protocol::constantTimeEqual(expected, signature)) {
    return failWith(CloudError::BadSignature, "request signature does not verify");
  }
  if (kiosk->status != "ACTIVE") return failWith(CloudError::KioskDisabled, "kiosk is blocked");
  char* end = nullptr;
  const long long stamp = std::strtoll(timestamp.c_str(), &end, 10);
  if (end == timestamp.c_str() || *end != '\0' || std::llabs(now() - stamp) > cfg.maxSkewSeconds) {
    return failWith(CloudError::StaleTimestamp, "X-Timestamp is more than " +
                                                    std::to_string(cfg.maxSkewSeconds) +
                                                    " s away from the server's clock");
  }
  if (!protocol::isNonce(nonce)) {
    return failWith(CloudError::BadRequest, "X-Nonce must be 16 to 64 printable ASCII characters");
  }
  return KioskCaller{kioskId, nonce, {}};
}

CloudResult<std::string> Server::Impl::authenticateKiosk(const http::Request& req) {
  KIOSK_TRY(caller, verifyKiosk(req));
  KIOSK_TRY(fresh, store.rememberNonce(caller->kioskId, caller->nonce, now()));
  if (!*fresh) return failWith(CloudError::ReplayedNonce, "nonce was already used");
  return caller->kioskId;
}

// Kiosk secrets and status change rarely; a two-second cache saves a query per request,
// and a blocked kiosk is refused at most two seconds later.
CloudResult<KioskAuth> Server::Impl::cachedKioskAuth(const std::string& kioskId) {
  const auto nowTime = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(authMutex);
    auto it = authCache.find(kioskId);
    if (it != authCache.end() && it->second.second > nowTime) return it->second.first;
  }
  KIOSK_TRY(auth, store.kioskAuth(kioskId));
  std::lock_guard lock(authMutex);
  if (authCache.size() > 10000) authCache.clear();
  authCache[kioskId] = {*auth, nowTime + std::chrono::seconds(2)};
  return auth;
}

CloudResult<bool> Server::Impl::authenticateAdmin(const http::Request& req) {
  const std::string header = req.header("Authorization");
  const std::string prefix = "Bearer ";
  if (!header.starts_with(prefix) ||
      !protocol::constantTimeEqual(header.substr(prefix.size()), cfg.adminToken)) {
    return failWith(CloudError::Unauthorized, "operator token missing or wrong");
  }
  return true;
}

}  // namespace kiosk::cloud
