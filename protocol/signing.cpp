#include "protocol/signing.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

#include "platform/bytes.hpp"

namespace kiosk::protocol {
namespace {

ByteView view(const unsigned char* data, std::size_t size) { return {data, size}; }

}  // namespace

std::string sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest failed");  // only when OpenSSL itself is broken
  }
  return toLowerHex(view(md.data(), size));
}

std::string hmacSha256Hex(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  std::size_t size = 0;
  // EVP_Q_mac: the one-shot form of the EVP_MAC API.
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), md.data(),
                md.size(), &size) == nullptr) {
    throw std::runtime_error("EVP_Q_mac failed");
  }
  return toLowerHex(view(md.data(), size));
}

bool constantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string randomHex(std::size_t bytes) {
  Bytes buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return toLowerHex(buffer);
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

std::string requestSignature(std::string_view secret, std::string_view method,
                             std::string_view target, std::string_view timestamp,
                             std::string_view nonce, std::string_view body) {
  return hmacSha256Hex(secret, canonicalRequest(method, target, timestamp, nonce, body));
}

std::string pbkdf2Hex(std::string_view pin, std::string_view saltHex, int iterations,
                      std::size_t length) {
  const auto salt = fromHex(saltHex);
  if (!salt) return {};
  Bytes out(length);
  if (PKCS5_PBKDF2_HMAC(pin.data(), static_cast<int>(pin.size()), salt->data(),
                        static_cast<int>(salt->size()), iterations, EVP_sha256(),
                        static_cast<int>(out.size()), out.data()) != 1) {
    throw std::runtime_error("PKCS5_PBKDF2_HMAC failed");
  }
  return toLowerHex(out);
}

}  // namespace kiosk::protocol
