#pragma once
// What the cloud needs from the card profile: mint a credit token with the vending key, build
// the secure-messaging write script for a card's fresh challenge, and check the RETURN data a
// meter wrote. The implementation (profile_format.cpp) delegates to card/profile.hpp; the
// interface keeps the store and the HTTP layer free of card types.

#include "cloud/error.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace kiosk::cloud {

struct TokenFields {
  std::string meterNumber;  // decimal digits
  std::string utility;      // electricity, water
  std::int64_t sequence = 0;
  std::int64_t amount = 0;  // minor units
  std::int64_t issuedAt = 0;
  std::int64_t keyVersion = 1;
};

struct MeterReturn {
  std::string meterNumber;
  std::int64_t lastSequence = 0;
  std::int64_t remaining = 0;    // minor units, negative in overdraft
  std::int64_t consumption = 0;  // cumulative, thousandths of a unit
  std::int64_t timestamp = 0;
  std::int64_t flags = 0;        // bit 0 cut off, bit 1 tamper, bit 2 low balance
};

inline constexpr std::int64_t kFlagCutOff = 0x01;
inline constexpr std::int64_t kFlagTamper = 0x02;
inline constexpr std::int64_t kFlagLowBalance = 0x04;

// What a kiosk offers to prove that a token reached the card: the card's signature of the
// token's CREDIT record with the order's nonce, or (when the meter loaded the token and freed
// the record first) the meter's RETURN showing it loaded. Hex; one of the two.
struct DeliveryProof {
  std::string cardSignature;
  std::string meterReturn;
};

// A delivery to check: the token as minted, the order's nonce, and the card's key as
// registered (hex of the 65-byte point; empty when none was registered).
struct DeliveryClaim {
  std::string cardNumber;
  std::string cardPublicKey;
  std::string tokenHex;
  std::string nonceHex;
  DeliveryProof proof;
};

class CardFormat {
 public:
  virtual ~CardFormat() = default;
  // The encoded, MAC'd token (hex of the CREDIT record).
  virtual CloudResult<std::string> mintToken(const TokenFields& fields) = 0;
  // The write script (card profile's JSON form: {"version":1,"steps":[{"apdu":..}]}) that
  // writes the token into the card's CREDIT ring under secure messaging, MAC'd for
  // `challengeHex` (the card's GET CHALLENGE answer), and reads it back.
  virtual CloudResult<nlohmann::json> creditWriteScript(const std::string& cardNumber,
                                                                  const std::string& tokenHex,
                                                                  const std::string& challengeHex) = 0;
  // Decodes the RETURN file and verifies its MAC with the meter's key.
  virtual CloudResult<MeterReturn> verifyReturn(const std::string& returnHex,
                                                std::int64_t keyVersion) = 0;
  // A fresh delivery nonce (hex), issued with an order's token.
  virtual std::string newDeliveryNonce() = 0;
  // DeliveryUnproven unless the proof shows the token on the card (or loaded by its meter).
  virtual CloudResult<void> verifyDelivery(const DeliveryClaim& claim) = 0;
};

}  // namespace kiosk::cloud
