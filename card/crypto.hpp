#pragma once
// The profile's cryptography, through OpenSSL 3 EVP only: ECDSA P-256 keys (issuer and card),
// AES-128-CMAC, the SP 800-108 counter-mode KDF over CMAC that diversifies keys, and random
// bytes. Also the key file formats (see docs/card-profile.md, "Key files").

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/types.h>

#include "platform/bytes.hpp"
#include "card/error.hpp"
#include "platform/result.hpp"


namespace kiosk::card {

// An AES-128 key: the SM master key, the vending key and every key derived from them.
using SymKey = std::array<std::uint8_t, 16>;

// An ECDSA P-256 key pair, or only its public half. Move-only owner of an EVP_PKEY.
class EcKey {
 public:
  EcKey() = default;
  static Result<EcKey, CardError> generate();
  // PKCS#8 / SEC1 private key PEM, or SubjectPublicKeyInfo public key PEM.
  static Result<EcKey, CardError> fromPem(std::string_view pem);
  // The 65-byte uncompressed point 04 || X || Y.
  static Result<EcKey, CardError> fromPublicPoint(ByteView point);
  // The 32-byte private scalar and the matching 65-byte public point.
  static Result<EcKey, CardError> fromPrivateScalar(ByteView scalar, ByteView point);
  static Result<EcKey, CardError> loadPem(const std::filesystem::path& file);

  bool valid() const { return m_key != nullptr; }
  bool hasPrivate() const { return m_private; }
  Bytes publicPoint() const;    // 65 bytes
  Bytes privateScalar() const;  // 32 bytes, empty without the private half
  std::string privatePem() const;
  std::string publicPem() const;
  EcKey publicOnly() const;
  // An independent copy of the same key, without parsing or checking it again.
  EcKey duplicate() const;

  // ECDSA with SHA-256 over `message`; DER-encoded signature (70 to 72 bytes, rarely fewer).
  Result<Bytes, CardError> sign(ByteView message) const;
  bool verify(ByteView message, ByteView derSignature) const;

 private:
  struct Free {
    void operator()(EVP_PKEY* key) const;
  };
  std::unique_ptr<EVP_PKEY, Free> m_key;
  bool m_private = false;
};

// AES-128-CMAC (NIST SP 800-38B): 16 bytes.
std::array<std::uint8_t, 16> aesCmac(const SymKey& key, ByteView message);
// NIST SP 800-108 KDF in counter mode with AES-128-CMAC as PRF (OpenSSL "KBKDF"):
// 16 bytes from `key`, `label` and `context`.
SymKey deriveKey(const SymKey& key, std::string_view label, ByteView context);
// Cryptographically strong random bytes (RAND_bytes).
Bytes randomBytes(std::size_t count);
SymKey randomKey();
// Compares in time independent of the contents.
bool constantTimeEqual(ByteView a, ByteView b);
// SHA-256 digest.
std::array<std::uint8_t, 32> sha256(ByteView message);

// Symmetric key files: either exactly 16 raw bytes, or 32 hex digits (surrounding white space
// and a trailing newline allowed). Written as hex + newline.
Result<SymKey, CardError> loadSymKey(const std::filesystem::path& file);
Result<SymKey, CardError> parseSymKey(std::string_view text);
bool saveSymKey(const std::filesystem::path& file, const SymKey& key);

}  // namespace kiosk::card
