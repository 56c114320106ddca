#pragma once
// The open card profile: the application identifier, file and instruction numbers, and the
// byte formats of the ID, CREDIT (credit tokens), RETURN and PARAMS files, with their keys
// and MACs. Pure format library: the cloud and the kiosk's payments code use it too.
// Every byte is documented in docs/card-profile.md.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/bytes.hpp"
#include "card/crypto.hpp"
#include "card/error.hpp"
#include "platform/result.hpp"

namespace kiosk::card {

namespace profile {
// Application identifier: RID F0 4B 49 4F 53 ("F0" proprietary + "KIOS"), PIX "K" 01 02: the
// profile's version 1.2 (1.1 had no delivery proof).
inline constexpr std::array<std::uint8_t, 8> kAid{0xF0, 0x4B, 0x49, 0x4F, 0x53, 0x4B, 0x01, 0x02};

// Short file identifiers (P1 of READ/UPDATE BINARY as 0x80|SFI, P2 of record commands as SFI<<3)
// and the matching two-byte file identifiers for SELECT by FID.
inline constexpr std::uint8_t kSfiId = 1;
inline constexpr std::uint8_t kSfiCredit = 2;
inline constexpr std::uint8_t kSfiReturn = 3;
inline constexpr std::uint8_t kSfiParams = 4;
inline constexpr std::uint16_t kFidId = 0x0101;
inline constexpr std::uint16_t kFidCredit = 0x0102;
inline constexpr std::uint16_t kFidReturn = 0x0103;
inline constexpr std::uint16_t kFidParams = 0x0104;

inline constexpr std::size_t kCreditRecords = 8;
inline constexpr std::size_t kTokenSize = 32;  // one CREDIT record
inline constexpr std::size_t kReturnSize = 52;
inline constexpr std::size_t kParamsSize = 24;
inline constexpr std::size_t kIdMaxSize = 256;
inline constexpr std::size_t kChallengeSize = 8;    // GET CHALLENGE
inline constexpr std::size_t kSmMacSize = 8;        // truncated CMAC appended to SM data
inline constexpr std::size_t kAuthChallengeMin = 8;  // INTERNAL AUTHENTICATE challenge
inline constexpr std::size_t kAuthChallengeMax = 64;
inline constexpr std::size_t kDeliveryNonceSize = 16;  // the cloud's nonce in a delivery proof
// P1 of INTERNAL AUTHENTICATE: the card's authentication (P2 = 00), or the proof of a CREDIT
// record (P2 = its number).
inline constexpr std::uint8_t kAuthCard = 0x00;
inline constexpr std::uint8_t kAuthDeliveryProof = 0x01;

// Classes and instructions.
inline constexpr std::uint8_t kClaPlain = 0x00;
inline constexpr std::uint8_t kClaSm = 0x04;  // ISO SM indication: proprietary, header authenticated
inline constexpr std::uint8_t kInsSelect = 0xA4;
inline constexpr std::uint8_t kInsReadBinary = 0xB0;
inline constexpr std::uint8_t kInsReadRecord = 0xB2;
inline constexpr std::uint8_t kInsUpdateBinary = 0xD6;
inline constexpr std::uint8_t kInsUpdateRecord = 0xDC;
inline constexpr std::uint8_t kInsGetChallenge = 0x84;
inline constexpr std::uint8_t kInsInternalAuthenticate = 0x88;
inline constexpr std::uint8_t kInsGetResponse = 0xC0;

// Domain separation strings (ASCII, no terminator).
inline constexpr std::string_view kIdSignatureDomain = "KIOSK-CARD-ID-v1";
inline constexpr std::string_view kInternalAuthDomain = "KIOSK-CARD-AUTH-v1";
inline constexpr std::string_view kDeliveryProofDomain = "KIOSK-CARD-DELIVERY-v1";
inline constexpr std::string_view kSmKeyLabel = "KIOSK-SM-CARD";
inline constexpr std::string_view kTokenKeyLabel = "KIOSK-TOKEN-METER";
inline constexpr std::string_view kReturnKeyLabel = "KIOSK-RETURN-METER";
}  // namespace profile

enum class CardKind : std::uint8_t { Resident = 1, Staff = 2 };
enum class Utility : std::uint8_t { Electricity = 1, Water = 2 };
std::string_view toString(CardKind kind);
std::string_view toString(Utility utility);
std::optional<CardKind> cardKindFromString(std::string_view text);  // "resident", "staff"
std::optional<Utility> utilityFromString(std::string_view text);    // "electricity", "water"

// ---- ID file (transparent EF, SFI 1): BER-TLV, signed by the issuer ----
struct IdFile {
  std::uint64_t cardNumber = 0;
  CardKind kind = CardKind::Resident;
  Utility utility = Utility::Electricity;
  std::uint64_t meterNumber = 0;
  std::string accountNumber;       // 1..32 printable ASCII characters
  std::uint8_t issuerKeyVersion = 1;
  Bytes cardPublicKey;             // 65-byte uncompressed P-256 point
  Bytes issuerSignature;           // DER ECDSA-SHA256, empty before signing

  bool operator==(const IdFile&) const = default;
};

// The bytes the issuer signs: the domain string followed by the encoded ID template without
// its signature object.
Result<Bytes, CardError> idSignedData(const IdFile& id);
// The whole file (template 70 with the signature object DF10 last).
Result<Bytes, CardError> encodeIdFile(const IdFile& id);
Result<IdFile, CardError> decodeIdFile(ByteView file);
// Signs with the issuer's private key (fills issuerSignature).
Result<void, CardError> signIdFile(IdFile& id, const EcKey& issuerPrivate);
bool verifyIdFile(const IdFile& id, const EcKey& issuerPublic);
// What INTERNAL AUTHENTICATE signs: domain || card number (8 bytes BE) || challenge.
Bytes internalAuthMessage(std::uint64_t cardNumber, ByteView challenge);
// What the card signs to prove a CREDIT record: domain || card number (8 bytes BE) || record
// number (1) || the 32-byte record as the card holds it || the cloud's nonce (16).
Bytes deliveryProofMessage(std::uint64_t cardNumber, std::uint8_t record, ByteView recordBytes,
                           ByteView nonce);

// ---- Credit token (one 32-byte CREDIT record) ----
struct CreditToken {
  Utility utility = Utility::Electricity;
  std::uint8_t keyVersion = 1;
  std::uint64_t meterNumber = 0;
  std::uint32_t sequence = 0;   // per meter, strictly increasing, >= 1
  std::uint32_t amount = 0;     // minor currency units, >= 1
  std::uint32_t issuedAt = 0;   // Unix seconds (UTC)
  std::array<std::uint8_t, 8> mac{};

  bool operator==(const CreditToken&) const = default;
};

// The per-meter token key: KBKDF(vending key, "KIOSK-TOKEN-METER", meter BE8 || version).
SymKey deriveTokenKey(const SymKey& vendingKey, std::uint64_t meterNumber, std::uint8_t keyVersion);
// The per-meter RETURN key: KBKDF(vending key, "KIOSK-RETURN-METER", meter BE8 || version).
SymKey deriveReturnKey(const SymKey& vendingKey, std::uint64_t meterNumber, std::uint8_t keyVersion);
// The per-card secure-messaging key: KBKDF(SM master, "KIOSK-SM-CARD", card number BE8).
SymKey deriveCardSmKey(const SymKey& smMaster, std::uint64_t cardNumber);

Bytes encodeToken(const CreditToken& token);  // 32 bytes
// An empty record (all zero) decodes to nullopt; anything else must be a well-formed token.
Result<std::optional<CreditToken>, CardError> decodeTokenRecord(ByteView record);
Result<CreditToken, CardError> decodeToken(ByteView record);
// Fills the MAC with the per-meter key derived from the vending key. Fails (BadData) on a
// zero sequence or amount.
Result<CreditToken, CardError> mintToken(const SymKey& vendingKey, CreditToken fields);
bool verifyToken(const CreditToken& token, const SymKey& tokenKey);
// The record a token goes to: ((sequence - 1) mod 8) + 1, so that the same token always lands
// in the same record and eight unloaded tokens fill the ring.
std::uint8_t creditRecordFor(std::uint32_t sequence);
// Splits READ RECORD "all records" data of CREDIT into tokens with their record numbers
// (empty records skipped).
Result<std::vector<std::pair<std::uint8_t, CreditToken>>, CardError> decodeCreditRecords(
    ByteView data);

// ---- RETURN file (transparent EF, SFI 3, 52 bytes): written by the meter ----
namespace return_flags {
inline constexpr std::uint8_t kCutOff = 0x01;
inline constexpr std::uint8_t kTamper = 0x02;
inline constexpr std::uint8_t kLowBalance = 0x04;
}  // namespace return_flags

struct ReturnRecord {
  Utility utility = Utility::Electricity;
  std::uint8_t keyVersion = 1;
  std::uint8_t flags = 0;              // return_flags
  std::uint8_t alarmLevel = 0;         // 0 none, 1..3
  std::uint64_t meterNumber = 0;
  std::uint32_t lastSequence = 0;      // last token sequence loaded (0: none yet)
  std::int64_t remainingCredit = 0;    // minor units; negative inside the overdraft
  std::uint64_t consumption = 0;       // cumulative, in thousandths of a unit (Wh, litres)
  std::int64_t timestamp = 0;          // Unix seconds (UTC) of the meter's write
  std::array<std::uint8_t, 8> mac{};

  bool cutOff() const { return (flags & return_flags::kCutOff) != 0; }
  bool tamper() const { return (flags & return_flags::kTamper) != 0; }
  bool lowBalance() const { return (flags & return_flags::kLowBalance) != 0; }
  bool operator==(const ReturnRecord&) const = default;
};

Bytes encodeReturn(const ReturnRecord& record);  // 52 bytes
// A file of zeros (the meter has not written yet) decodes to nullopt.
Result<std::optional<ReturnRecord>, CardError> decodeReturnFile(ByteView file);
Result<ReturnRecord, CardError> decodeReturn(ByteView file);
void sealReturn(ReturnRecord& record, const SymKey& returnKey);
bool verifyReturn(const ReturnRecord& record, const SymKey& returnKey);

// ---- PARAMS file (transparent EF, SFI 4, 24 bytes): tariff for the meter ----
struct Params {
  Utility utility = Utility::Electricity;
  std::uint32_t pricePerUnit = 0;    // minor units per kWh or per cubic metre, >= 1
  std::array<std::uint32_t, 3> alarmLevels{};  // remaining credit thresholds, level 1 >= 2 >= 3
  std::uint32_t overdraftLimit = 0;  // supply cut when credit <= -overdraftLimit

  bool operator==(const Params&) const = default;
};

Bytes encodeParams(const Params& params);  // 24 bytes
Result<Params, CardError> decodeParams(ByteView file);

}  // namespace kiosk::card
