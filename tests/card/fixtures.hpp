#pragma once
// Fixed demo keys and a standard card for the card layer's tests. These keys are published
// test vectors (docs/card-profile.md), never production keys.

#include <gtest/gtest.h>

#include "card/crypto.hpp"
#include "card/issuance.hpp"
#include "card/profile.hpp"
#include "card/virtual_card.hpp"

namespace kiosk::card::test {

inline constexpr const char* kIssuerPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbxZFhfVs6SRDtjOd\n"
    "Rq0ZZ/0MBkik7a0Zzz97ZFSMAQOhRANCAASbwy6r87RntSZ3k6k83Rz0uhHX/LTO\n"
    "StJw1Nbu2ij35l7eAsTgA3o5nfhmTep5R2krZmiyUiLceOBpLfgjteQe\n"
    "-----END PRIVATE KEY-----\n";

inline constexpr const char* kCardPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgw1EC1XrTfyGdHFiY\n"
    "XfzFZd1TlQrlqP34ftUGaoguReuhRANCAARo56r8eZOiavwbCcRi7GvdeQX5bjGC\n"
    "ChRLvUsXIncgrqA3qtVwAySDdJxX7ce+u395KDGowyJ1OeAvxG4vEKaJ\n"
    "-----END PRIVATE KEY-----\n";

// A second key pair: another issuer, or the key a cloner would put in a copied card.
inline constexpr const char* kOtherPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1X/zc+RsxKR7d+5v\n"
    "CB0iBmrgWO+vOELCg0300RxSp3ahRANCAATmJ6bdbnI/6mhIiDGxL68FPXxg2oOj\n"
    "jpHzUbWcLII8s9atWcgKuyfRW9LAlcKhMPuHAuKIO+iZMKsQu5iHTOO+\n"
    "-----END PRIVATE KEY-----\n";

inline constexpr SymKey kSmMaster{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                  0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
inline constexpr SymKey kVendingKey{0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                    0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F};

inline constexpr std::uint64_t kCardNumber = 8600000000000001ULL;
inline constexpr std::uint64_t kMeterNumber = 410000123456ULL;
inline constexpr const char* kAccount = "ACC-2024-0001";

inline EcKey loadKey(const char* pem) {
  auto key = EcKey::fromPem(pem);
  EXPECT_TRUE(key.has_value());
  return key ? std::move(key).value() : EcKey{};
}

inline Params standardParams() {
  Params p;
  p.utility = Utility::Electricity;
  p.pricePerUnit = 60;  // 0.60 per kWh
  p.alarmLevels = {2000, 1000, 500};
  p.overdraftLimit = 300;
  return p;
}

inline IssueRequest standardRequest() {
  IssueRequest request;
  request.cardNumber = kCardNumber;
  request.kind = CardKind::Resident;
  request.utility = Utility::Electricity;
  request.meterNumber = kMeterNumber;
  request.accountNumber = kAccount;
  request.params = standardParams();
  return request;
}

inline CardImage standardCard() {
  auto image = issueCard(standardRequest(), loadKey(kIssuerPem), kSmMaster, loadKey(kCardPem));
  EXPECT_TRUE(image.has_value());
  return image ? std::move(image).value() : CardImage{};
}

inline CreditToken tokenFields(std::uint32_t sequence, std::uint32_t amount) {
  CreditToken t;
  t.utility = Utility::Electricity;
  t.keyVersion = 1;
  t.meterNumber = kMeterNumber;
  t.sequence = sequence;
  t.amount = amount;
  t.issuedAt = 1767225600;  // 2026-01-01T00:00:00Z
  return t;
}

inline CreditToken mintedToken(std::uint32_t sequence, std::uint32_t amount) {
  auto token = mintToken(kVendingKey, tokenFields(sequence, amount));
  EXPECT_TRUE(token.has_value());
  return token ? *token : CreditToken{};
}

inline Bytes hex(std::string_view text) {
  auto bytes = fromHex(text);
  EXPECT_TRUE(bytes.has_value()) << text;
  return bytes.value_or(Bytes{});
}

}  // namespace kiosk::card::test
