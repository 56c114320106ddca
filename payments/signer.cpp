#include "payments/signer.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <memory>
#include <stdexcept>

namespace kiosk::payments {

namespace {

std::string toHexLower(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4U]);
    out.push_back(kDigits[data[i] & 0x0FU]);
  }
  return out;
}

struct MacFree {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

}  // namespace

std::string sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");  // only when OpenSSL itself is broken
  }
  return toHexLower(digest.data(), length);
}

std::string hmacSha256Hex(std::string_view key, std::string_view data) {
  std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) throw std::runtime_error("HMAC is not available in OpenSSL");
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac.get()));
  char digestName[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digestName, 0),
      OSSL_PARAM_construct_end(),
  };
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  std::size_t length = 0;
  if (!ctx ||
      EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
          1 ||
      EVP_MAC_final(ctx.get(), out.data(), &length, out.size()) != 1) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return toHexLower(out.data(), length);
}

std::string randomHex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return toHexLower(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string canonicalRequest(std::string_view method, std::string_view target,
                             std::string_view timestamp, std::string_view nonce,
                             std::string_view body) {
  std::string out;
  out.reserve(method.size() + target.size() + timestamp.size() + nonce.size() + 70);
  out.append(method).append("\n").append(target).append("\n").append(timestamp).append("\n");
  out.append(nonce).append("\n").append(sha256Hex(body));
  return out;
}

RequestSigner::RequestSigner(std::string kioskId, std::string secret, const platform::Clock& clock)
    : m_kioskId(std::move(kioskId)), m_secret(std::move(secret)), m_clock(clock) {}

std::vector<std::pair<std::string, std::string>> RequestSigner::sign(std::string_view method,
                                                                     std::string_view target,
                                                                     std::string_view body) const {
  const std::string timestamp = std::to_string(m_clock.unixSeconds());
  const std::string nonce = randomHex(16);
  return {{"X-Kiosk-Id", m_kioskId},
          {"X-Timestamp", timestamp},
          {"X-Nonce", nonce},
          {"X-Signature",
           hmacSha256Hex(m_secret, canonicalRequest(method, target, timestamp, nonce, body))}};
}

}  // namespace kiosk::payments
