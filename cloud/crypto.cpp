#include "cloud/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace kiosk::cloud {
namespace {

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4U];
    out[2 * i + 1] = kDigits[data[i] & 0x0FU];
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<unsigned char> unhex(std::string_view text) {
  std::vector<unsigned char> out;
  if (text.size() % 2 != 0) return out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = hexValue(text[i]);
    const int lo = hexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace

std::string sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest failed");
  }
  return hex(md.data(), size);
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
  return hex(md.data(), size);
}

bool constantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string randomHex(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return hex(buffer.data(), buffer.size());
}

std::string pbkdf2Hex(std::string_view pin, std::string_view saltHex, int iterations,
                      std::size_t length) {
  const auto salt = unhex(saltHex);
  std::vector<unsigned char> out(length);
  if (PKCS5_PBKDF2_HMAC(pin.data(), static_cast<int>(pin.size()), salt.data(),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(out.size()), out.data()) != 1) {
    throw std::runtime_error("PKCS5_PBKDF2_HMAC failed");
  }
  return hex(out.data(), out.size());
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

}  // namespace kiosk::cloud
