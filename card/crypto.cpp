#include "card/crypto.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <fstream>
#include <optional>
#include <stdexcept>

namespace kiosk::card {

namespace {

// OpenSSL failures on well-formed inputs (allocation, a broken provider) are not expected
// failures of the card layer: they are reported as exceptions, like any startup fault.
[[noreturn]] void opensslFault(const char* what) {
  throw std::runtime_error(std::string("OpenSSL failure: ") + what);
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

char kGroupName[] = "prime256v1";

bool isP256(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char name[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name,
                                     &length) != 1) {
    return false;
  }
  return std::string_view(name, length) == kGroupName;
}

bool hasPrivateHalf(EVP_PKEY* key) {
  BIGNUM* priv = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &priv) != 1) return false;
  BN_clear_free(priv);
  return true;
}

// Key files are small; anything larger is not a key. (A read loop rather than
// istreambuf_iterator, which GCC 12 -O2 flags with a false null-dereference warning.)
std::optional<std::string> readSmallFile(const std::filesystem::path& file, std::size_t limit) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text;
  char buffer[512];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > limit) return std::nullopt;
  }
  return text;
}

std::string bioToString(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  if (length <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(length));
}

}  // namespace

void EcKey::Free::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

Result<EcKey, CardError> EcKey::generate() {
  EVP_PKEY* raw = EVP_EC_gen(kGroupName);
  if (raw == nullptr) opensslFault("EVP_EC_gen");
  EcKey key;
  key.m_key.reset(raw);
  key.m_private = true;
  return key;
}

Result<EcKey, CardError> EcKey::fromPem(std::string_view pem) {
  if (pem.size() > 1U << 16U) return fail(CardError::BadData);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) opensslFault("BIO_new_mem_buf");
  EcKey key;
  if (pem.find("PRIVATE KEY") != std::string_view::npos) {
    key.m_key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    key.m_private = true;
  } else {
    key.m_key.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  }
  if (!key.m_key || !isP256(key.m_key.get())) return fail(CardError::BadData);
  key.m_private = key.m_private && hasPrivateHalf(key.m_key.get());
  return key;
}

Result<EcKey, CardError> EcKey::fromPublicPoint(ByteView point) {
  if (point.size() != 65 || point[0] != 0x04) return fail(CardError::BadData);
  Bytes copy(point.begin(), point.end());
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, kGroupName, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, copy.data(), copy.size()),
      OSSL_PARAM_construct_end()};
  CtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx) opensslFault("EVP_PKEY_CTX_new_from_name");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return fail(CardError::BadData);  // not a point on the curve
  }
  EcKey key;
  key.m_key.reset(raw);
  // fromdata does not check that the point lies on the curve: ask for it explicitly.
  CtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return fail(CardError::BadData);
  return key;
}

Result<EcKey, CardError> EcKey::fromPrivateScalar(ByteView scalar, ByteView point) {
  if (scalar.size() != 32 || point.size() != 65 || point[0] != 0x04) {
    return fail(CardError::BadData);
  }
  BnPtr priv(BN_bin2bn(scalar.data(), 32, nullptr));
  if (!priv) opensslFault("BN_bin2bn");
  // OSSL_PARAM_BLD would be the general tool; a native-endian BIGNUM buffer does the same.
  std::array<unsigned char, 32> native{};
  if (BN_bn2nativepad(priv.get(), native.data(), static_cast<int>(native.size())) < 0) {
    return fail(CardError::BadData);
  }
  Bytes pub(point.begin(), point.end());
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, kGroupName, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size()),
      OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, native.data(), native.size()),
      OSSL_PARAM_construct_end()};
  CtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx) opensslFault("EVP_PKEY_CTX_new_from_name");
  EVP_PKEY* raw = nullptr;
  const int ok = EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
                 EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params) == 1;
  OPENSSL_cleanse(native.data(), native.size());
  if (!ok) return fail(CardError::BadData);
  EcKey key;
  key.m_key.reset(raw);
  key.m_private = true;
  CtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr));
  if (!check || EVP_PKEY_pairwise_check(check.get()) != 1) return fail(CardError::BadData);
  return key;
}

Result<EcKey, CardError> EcKey::loadPem(const std::filesystem::path& file) {
  const auto text = readSmallFile(file, 1U << 16U);
  if (!text) return fail(CardError::BadData);
  return fromPem(*text);
}

Bytes EcKey::publicPoint() const {
  if (!m_key) return {};
  Bytes point(65);
  std::size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(m_key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                      point.data(), point.size(), &length) != 1 ||
      length != 65) {
    opensslFault("encoded public key");
  }
  return point;
}

Bytes EcKey::privateScalar() const {
  if (!m_key || !m_private) return {};
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(m_key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) return {};
  Bytes scalar(32);
  const int written = BN_bn2binpad(raw, scalar.data(), 32);
  BN_clear_free(raw);
  if (written != 32) opensslFault("BN_bn2binpad");
  return scalar;
}

std::string EcKey::privatePem() const {
  if (!m_key || !m_private) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), m_key.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    opensslFault("PEM_write_bio_PrivateKey");
  }
  return bioToString(bio.get());
}

std::string EcKey::publicPem() const {
  if (!m_key) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), m_key.get()) != 1) {
    opensslFault("PEM_write_bio_PUBKEY");
  }
  return bioToString(bio.get());
}

EcKey EcKey::publicOnly() const {
  auto key = fromPublicPoint(publicPoint());
  if (!key) opensslFault("public half");
  return std::move(key).value();
}

EcKey EcKey::duplicate() const {
  EcKey key;
  if (!m_key) return key;
  key.m_key.reset(EVP_PKEY_dup(m_key.get()));
  if (!key.m_key) opensslFault("EVP_PKEY_dup");
  key.m_private = m_private;
  return key;
}

Result<Bytes, CardError> EcKey::sign(ByteView message) const {
  if (!m_key || !m_private) return fail(CardError::BadData);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) opensslFault("EVP_MD_CTX_new");
  if (EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, m_key.get(),
                            nullptr) != 1) {
    opensslFault("EVP_DigestSignInit_ex");
  }
  std::size_t length = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &length, message.data(), message.size()) != 1) {
    opensslFault("EVP_DigestSign size");
  }
  Bytes signature(length);
  if (EVP_DigestSign(ctx.get(), signature.data(), &length, message.data(), message.size()) !=
      1) {
    opensslFault("EVP_DigestSign");
  }
  signature.resize(length);
  return signature;
}

bool EcKey::verify(ByteView message, ByteView derSignature) const {
  if (!m_key || derSignature.empty() || derSignature.size() > 80) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) opensslFault("EVP_MD_CTX_new");
  if (EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, m_key.get(),
                              nullptr) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), derSignature.data(), derSignature.size(), message.data(),
                          message.size()) == 1;
}

std::array<std::uint8_t, 16> aesCmac(const SymKey& key, ByteView message) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
  if (mac == nullptr) opensslFault("EVP_MAC_fetch CMAC");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  if (ctx == nullptr) opensslFault("EVP_MAC_CTX_new");
  char cipher[] = "AES-128-CBC";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
                         OSSL_PARAM_construct_end()};
  std::array<std::uint8_t, 16> out{};
  std::size_t length = 0;
  const bool ok = EVP_MAC_init(ctx, key.data(), key.size(), params) == 1 &&
                  EVP_MAC_update(ctx, message.data(), message.size()) == 1 &&
                  EVP_MAC_final(ctx, out.data(), &length, out.size()) == 1 && length == 16;
  EVP_MAC_CTX_free(ctx);
  if (!ok) opensslFault("CMAC");
  return out;
}

SymKey deriveKey(const SymKey& key, std::string_view label, ByteView context) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "KBKDF", nullptr);
  if (kdf == nullptr) opensslFault("EVP_KDF_fetch KBKDF");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) opensslFault("EVP_KDF_CTX_new");
  char mode[] = "counter";
  char macName[] = "CMAC";
  char cipher[] = "AES-128-CBC";
  SymKey keyCopy = key;
  std::string labelCopy(label);
  Bytes contextCopy(context.begin(), context.end());
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, mode, 0),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, macName, 0),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_CIPHER, cipher, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, keyCopy.data(), keyCopy.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, labelCopy.data(), labelCopy.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, contextCopy.data(),
                                        contextCopy.size()),
      OSSL_PARAM_construct_end()};
  SymKey out{};
  const bool ok = EVP_KDF_derive(ctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(ctx);
  OPENSSL_cleanse(keyCopy.data(), keyCopy.size());
  if (!ok) opensslFault("KBKDF");
  return out;
}

Bytes randomBytes(std::size_t count) {
  Bytes out(count);
  if (count > 0 && RAND_bytes(out.data(), static_cast<int>(count)) != 1) {
    opensslFault("RAND_bytes");
  }
  return out;
}

SymKey randomKey() {
  SymKey key{};
  const Bytes random = randomBytes(key.size());
  std::copy(random.begin(), random.end(), key.begin());
  return key;
}

bool constantTimeEqual(ByteView a, ByteView b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::array<std::uint8_t, 32> sha256(ByteView message) {
  std::array<std::uint8_t, 32> out{};
  unsigned int length = 0;
  if (EVP_Digest(message.data(), message.size(), out.data(), &length, EVP_sha256(), nullptr) !=
          1 ||
      length != 32) {
    opensslFault("EVP_Digest");
  }
  return out;
}

Result<SymKey, CardError> parseSymKey(std::string_view text) {
  SymKey key{};
  if (text.size() == key.size()) {
    // A hex key is at least 32 characters, so 16 bytes can only be a raw binary key file.
    std::copy(text.begin(), text.end(), key.begin());
    return key;
  }
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  if (first == std::string_view::npos) return fail(CardError::BadData);
  const std::string_view trimmed = text.substr(first, last - first + 1);
  if (trimmed.size() != 32) return fail(CardError::BadData);
  const auto bytes = fromHex(trimmed);
  if (!bytes || bytes->size() != key.size()) return fail(CardError::BadData);
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

Result<SymKey, CardError> loadSymKey(const std::filesystem::path& file) {
  const auto text = readSmallFile(file, 1024);
  if (!text) return fail(CardError::BadData);
  return parseSymKey(*text);
}

bool saveSymKey(const std::filesystem::path& file, const SymKey& key) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << toHex(key) << '\n';
  return static_cast<bool>(out);
}

}  // namespace kiosk::card
