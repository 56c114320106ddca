#include "card/profile.hpp"

#include <algorithm>

#include "card/tlv.hpp"

namespace kiosk::card {

namespace {

// ID file tags: template 70 holding private-class primitive objects DF01..DF10.
constexpr std::uint32_t kTagIdTemplate = 0x70;
constexpr std::uint32_t kTagCardNumber = 0xDF01;
constexpr std::uint32_t kTagCardKind = 0xDF02;
constexpr std::uint32_t kTagUtility = 0xDF03;
constexpr std::uint32_t kTagMeterNumber = 0xDF04;
constexpr std::uint32_t kTagAccount = 0xDF05;
constexpr std::uint32_t kTagIssuerKeyVersion = 0xDF06;
constexpr std::uint32_t kTagCardPublicKey = 0xDF07;
constexpr std::uint32_t kTagIssuerSignature = 0xDF10;

constexpr std::uint8_t kFormatV1 = 0x01;

void putBe(Bytes& out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out.push_back(static_cast<std::uint8_t>((value >> (8 * i)) & 0xFFU));
  }
}

std::uint64_t getBe(ByteView in, std::size_t offset, std::size_t bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < bytes; ++i) value = (value << 8U) | in[offset + i];
  return value;
}

Bytes be8(std::uint64_t value) {
  Bytes out;
  putBe(out, value, 8);
  return out;
}

bool validUtility(std::uint8_t value) { return value == 1 || value == 2; }
bool validKind(std::uint8_t value) { return value == 1 || value == 2; }

bool allZero(ByteView bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

bool validAccount(std::string_view account) {
  return !account.empty() && account.size() <= 32 &&
         std::all_of(account.begin(), account.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

template <std::size_t N>
std::array<std::uint8_t, N> truncateMac(const std::array<std::uint8_t, 16>& full) {
  std::array<std::uint8_t, N> out{};
  std::copy_n(full.begin(), N, out.begin());
  return out;
}

Result<Bytes, CardError> encodeIdBody(const IdFile& id, bool withSignature) {
  if (!validAccount(id.accountNumber) || id.cardPublicKey.size() != 65 ||
      id.cardNumber == 0 || (id.meterNumber == 0 && id.kind != CardKind::Staff)) {
    return fail(CardError::BadData);
  }
  Bytes body;
  const auto add = [&body](std::uint32_t tag, ByteView value) {
    return static_cast<bool>(appendTlv(body, tag, value));
  };
  const Bytes account(id.accountNumber.begin(), id.accountNumber.end());
  const std::uint8_t kind = static_cast<std::uint8_t>(id.kind);
  const std::uint8_t utility = static_cast<std::uint8_t>(id.utility);
  const bool ok = add(kTagCardNumber, be8(id.cardNumber)) &&
                  add(kTagCardKind, ByteView(&kind, 1)) &&
                  add(kTagUtility, ByteView(&utility, 1)) &&
                  add(kTagMeterNumber, be8(id.meterNumber)) && add(kTagAccount, account) &&
                  add(kTagIssuerKeyVersion, ByteView(&id.issuerKeyVersion, 1)) &&
                  add(kTagCardPublicKey, id.cardPublicKey) &&
                  (!withSignature || add(kTagIssuerSignature, id.issuerSignature));
  if (!ok) return fail(CardError::BadData);
  return encodeTlv(kTagIdTemplate, body);
}

}  // namespace

std::string_view toString(CardKind kind) {
  return kind == CardKind::Staff ? "staff" : "resident";
}
std::string_view toString(Utility utility) {
  return utility == Utility::Water ? "water" : "electricity";
}
std::optional<CardKind> cardKindFromString(std::string_view text) {
  if (text == "resident") return CardKind::Resident;
  if (text == "staff") return CardKind::Staff;
  return std::nullopt;
}
std::optional<Utility> utilityFromString(std::string_view text) {
  if (text == "electricity") return Utility::Electricity;
  if (text == "water") return Utility::Water;
  return std::nullopt;
}

// ---- ID ----

Result<Bytes, CardError> idSignedData(const IdFile& id) {
  auto body = encodeIdBody(id, false);
  if (!body) return body;
  Bytes out(profile::kIdSignatureDomain.begin(), profile::kIdSignatureDomain.end());
  out.insert(out.end(), body->begin(), body->end());
  return out;
}

Result<Bytes, CardError> encodeIdFile(const IdFile& id) {
  if (id.issuerSignature.empty() || id.issuerSignature.size() > 72) {
    return fail(CardError::BadData);
  }
  auto file = encodeIdBody(id, true);
  if (file && file->size() > profile::kIdMaxSize) return fail(CardError::BadData);
  return file;
}

Result<IdFile, CardError> decodeIdFile(ByteView file) {
  if (file.size() > profile::kIdMaxSize) return fail(CardError::BadData);
  auto outer = parseTlvList(file);
  if (!outer || outer->size() != 1 || outer->front().tag != kTagIdTemplate) {
    return fail(CardError::BadData);
  }
  auto inner = parseTlvList(outer->front().value);
  if (!inner) return fail(CardError::BadData);
  // Exactly the eight objects, in the documented order, each once.
  static constexpr std::uint32_t kOrder[] = {kTagCardNumber,       kTagCardKind,
                                             kTagUtility,          kTagMeterNumber,
                                             kTagAccount,          kTagIssuerKeyVersion,
                                             kTagCardPublicKey,    kTagIssuerSignature};
  if (inner->size() != std::size(kOrder)) return fail(CardError::BadData);
  for (std::size_t i = 0; i < std::size(kOrder); ++i) {
    if ((*inner)[i].tag != kOrder[i]) return fail(CardError::BadData);
  }
  const auto& v = *inner;
  if (v[0].value.size() != 8 || v[1].value.size() != 1 || v[2].value.size() != 1 ||
      v[3].value.size() != 8 || v[5].value.size() != 1 || v[6].value.size() != 65 ||
      v[7].value.empty() || v[7].value.size() > 72) {
    return fail(CardError::BadData);
  }
  if (!validKind(v[1].value[0]) || !validUtility(v[2].value[0]) || v[6].value[0] != 0x04) {
    return fail(CardError::BadData);
  }
  IdFile id;
  id.cardNumber = getBe(v[0].value, 0, 8);
  id.kind = static_cast<CardKind>(v[1].value[0]);
  id.utility = static_cast<Utility>(v[2].value[0]);
  id.meterNumber = getBe(v[3].value, 0, 8);
  id.accountNumber.assign(v[4].value.begin(), v[4].value.end());
  id.issuerKeyVersion = v[5].value[0];
  id.cardPublicKey = v[6].value;
  id.issuerSignature = v[7].value;
  if (!validAccount(id.accountNumber) || id.cardNumber == 0 ||
      (id.meterNumber == 0 && id.kind != CardKind::Staff)) {
    return fail(CardError::BadData);
  }
  // The file must be the canonical encoding, so that what was signed is what is stored.
  auto again = encodeIdFile(id);
  if (!again || !std::equal(again->begin(), again->end(), file.begin(), file.end())) {
    return fail(CardError::BadData);
  }
  return id;
}

Result<void, CardError> signIdFile(IdFile& id, const EcKey& issuerPrivate) {
  auto data = idSignedData(id);
  if (!data) return fail(data.error());
  auto signature = issuerPrivate.sign(*data);
  if (!signature) return fail(signature.error());
  id.issuerSignature = std::move(*signature);
  return {};
}

bool verifyIdFile(const IdFile& id, const EcKey& issuerPublic) {
  auto data = idSignedData(id);
  return data && issuerPublic.verify(*data, id.issuerSignature);
}

Bytes internalAuthMessage(std::uint64_t cardNumber, ByteView challenge) {
  Bytes out(profile::kInternalAuthDomain.begin(), profile::kInternalAuthDomain.end());
  putBe(out, cardNumber, 8);
  out.insert(out.end(), challenge.begin(), challenge.end());
  return out;
}

Bytes deliveryProofMessage(std::uint64_t cardNumber, std::uint8_t record, ByteView recordBytes,
                           ByteView nonce) {
  Bytes out(profile::kDeliveryProofDomain.begin(), profile::kDeliveryProofDomain.end());
  putBe(out, cardNumber, 8);
  out.push_back(record);
  out.insert(out.end(), recordBytes.begin(), recordBytes.end());
  out.insert(out.end(), nonce.begin(), nonce.end());
  return out;
}

// ---- Keys ----

namespace {
Bytes meterContext(std::uint64_t meterNumber, std::uint8_t keyVersion) {
  Bytes context = be8(meterNumber);
  context.push_back(keyVersion);
  return context;
}
}  // namespace

SymKey deriveTokenKey(const SymKey& vendingKey, std::uint64_t meterNumber,
                      std::uint8_t keyVersion) {
  return deriveKey(vendingKey, profile::kTokenKeyLabel, meterContext(meterNumber, keyVersion));
}

SymKey deriveReturnKey(const SymKey& vendingKey, std::uint64_t meterNumber,
                       std::uint8_t keyVersion) {
  return deriveKey(vendingKey, profile::kReturnKeyLabel, meterContext(meterNumber, keyVersion));
}

SymKey deriveCardSmKey(const SymKey& smMaster, std::uint64_t cardNumber) {
  return deriveKey(smMaster, profile::kSmKeyLabel, be8(cardNumber));
}

// ---- Token ----

namespace {
Bytes tokenBody(const CreditToken& token) {
  Bytes out{kFormatV1, static_cast<std::uint8_t>(token.utility), token.keyVersion, 0x00};
  putBe(out, token.meterNumber, 8);
  putBe(out, token.sequence, 4);
  putBe(out, token.amount, 4);
  putBe(out, token.issuedAt, 4);
  return out;  // 24 bytes: what the MAC covers
}
}  // namespace

Bytes encodeToken(const CreditToken& token) {
  Bytes out = tokenBody(token);
  out.insert(out.end(), token.mac.begin(), token.mac.end());
  return out;
}

Result<std::optional<CreditToken>, CardError> decodeTokenRecord(ByteView record) {
  if (record.size() != profile::kTokenSize) return fail(CardError::BadData);
  if (allZero(record)) return std::optional<CreditToken>{};
  if (record[0] != kFormatV1 || !validUtility(record[1]) || record[3] != 0x00) {
    return fail(CardError::BadData);
  }
  CreditToken token;
  token.utility = static_cast<Utility>(record[1]);
  token.keyVersion = record[2];
  token.meterNumber = getBe(record, 4, 8);
  token.sequence = static_cast<std::uint32_t>(getBe(record, 12, 4));
  token.amount = static_cast<std::uint32_t>(getBe(record, 16, 4));
  token.issuedAt = static_cast<std::uint32_t>(getBe(record, 20, 4));
  std::copy_n(record.begin() + 24, 8, token.mac.begin());
  if (token.sequence == 0 || token.amount == 0) return fail(CardError::BadData);
  return std::optional<CreditToken>{token};
}

Result<std::vector<std::pair<std::uint8_t, CreditToken>>, CardError> decodeCreditRecords(
    ByteView data) {
  if (data.size() != profile::kCreditRecords * profile::kTokenSize) {
    return fail(CardError::BadData);
  }
  std::vector<std::pair<std::uint8_t, CreditToken>> tokens;
  for (std::size_t i = 0; i < profile::kCreditRecords; ++i) {
    auto record = decodeTokenRecord(data.subspan(i * profile::kTokenSize, profile::kTokenSize));
    if (!record) return fail(record.error());
    if (record->has_value()) {
      tokens.emplace_back(static_cast<std::uint8_t>(i + 1), **record);
    }
  }
  return tokens;
}

Result<CreditToken, CardError> decodeToken(ByteView record) {
  auto decoded = decodeTokenRecord(record);
  if (!decoded) return fail(decoded.error());
  if (!decoded->has_value()) return fail(CardError::BadData);
  return **decoded;
}

Result<CreditToken, CardError> mintToken(const SymKey& vendingKey, CreditToken fields) {
  if (fields.sequence == 0 || fields.amount == 0 || fields.meterNumber == 0) {
    return fail(CardError::BadData);
  }
  const SymKey key = deriveTokenKey(vendingKey, fields.meterNumber, fields.keyVersion);
  fields.mac = truncateMac<8>(aesCmac(key, tokenBody(fields)));
  return fields;
}

bool verifyToken(const CreditToken& token, const SymKey& tokenKey) {
  const auto expected = truncateMac<8>(aesCmac(tokenKey, tokenBody(token)));
  return constantTimeEqual(expected, token.mac);
}

std::uint8_t creditRecordFor(std::uint32_t sequence) {
  const std::uint32_t zeroBased = (sequence == 0 ? 0 : sequence - 1) % profile::kCreditRecords;
  return static_cast<std::uint8_t>(zeroBased + 1);
}

// ---- RETURN ----

namespace {
Bytes returnBody(const ReturnRecord& r) {
  Bytes out{kFormatV1, static_cast<std::uint8_t>(r.utility), r.keyVersion, r.flags, r.alarmLevel,
            0x00,      0x00,                                  0x00};
  putBe(out, r.meterNumber, 8);
  putBe(out, r.lastSequence, 4);
  putBe(out, static_cast<std::uint64_t>(r.remainingCredit), 8);
  putBe(out, r.consumption, 8);
  putBe(out, static_cast<std::uint64_t>(r.timestamp), 8);
  return out;  // 44 bytes: what the MAC covers
}
}  // namespace

Bytes encodeReturn(const ReturnRecord& record) {
  Bytes out = returnBody(record);
  out.insert(out.end(), record.mac.begin(), record.mac.end());
  return out;
}

Result<std::optional<ReturnRecord>, CardError> decodeReturnFile(ByteView file) {
  if (file.size() != profile::kReturnSize) return fail(CardError::BadData);
  if (allZero(file)) return std::optional<ReturnRecord>{};
  if (file[0] != kFormatV1 || !validUtility(file[1]) || (file[3] & 0xF8U) != 0 ||
      file[4] > 3 || file[5] != 0 || file[6] != 0 || file[7] != 0) {
    return fail(CardError::BadData);
  }
  ReturnRecord r;
  r.utility = static_cast<Utility>(file[1]);
  r.keyVersion = file[2];
  r.flags = file[3];
  r.alarmLevel = file[4];
  r.meterNumber = getBe(file, 8, 8);
  r.lastSequence = static_cast<std::uint32_t>(getBe(file, 16, 4));
  r.remainingCredit = static_cast<std::int64_t>(getBe(file, 20, 8));
  r.consumption = getBe(file, 28, 8);
  r.timestamp = static_cast<std::int64_t>(getBe(file, 36, 8));
  std::copy_n(file.begin() + 44, 8, r.mac.begin());
  return std::optional<ReturnRecord>{r};
}

Result<ReturnRecord, CardError> decodeReturn(ByteView file) {
  auto decoded = decodeReturnFile(file);
  if (!decoded) return fail(decoded.error());
  if (!decoded->has_value()) return fail(CardError::BadData);
  return **decoded;
}

void sealReturn(ReturnRecord& record, const SymKey& returnKey) {
  record.mac = truncateMac<8>(aesCmac(returnKey, returnBody(record)));
}

bool verifyReturn(const ReturnRecord& record, const SymKey& returnKey) {
  const auto expected = truncateMac<8>(aesCmac(returnKey, returnBody(record)));
  return constantTimeEqual(expected, record.mac);
}

// ---- PARAMS ----

Bytes encodeParams(const Params& params) {
  Bytes out{kFormatV1, static_cast<std::uint8_t>(params.utility), 0x00, 0x00};
  putBe(out, params.pricePerUnit, 4);
  for (const std::uint32_t level : params.alarmLevels) putBe(out, level, 4);
  putBe(out, params.overdraftLimit, 4);
  return out;
}

Result<Params, CardError> decodeParams(ByteView file) {
  if (file.size() != profile::kParamsSize || file[0] != kFormatV1 || !validUtility(file[1]) ||
      file[2] != 0 || file[3] != 0) {
    return fail(CardError::BadData);
  }
  Params p;
  p.utility = static_cast<Utility>(file[1]);
  p.pricePerUnit = static_cast<std::uint32_t>(getBe(file, 4, 4));
  for (std::size_t i = 0; i < 3; ++i) {
    p.alarmLevels[i] = static_cast<std::uint32_t>(getBe(file, 8 + 4 * i, 4));
  }
  p.overdraftLimit = static_cast<std::uint32_t>(getBe(file, 20, 4));
  if (p.pricePerUnit == 0 || p.alarmLevels[0] < p.alarmLevels[1] ||
      p.alarmLevels[1] < p.alarmLevels[2]) {
    return fail(CardError::BadData);
  }
  return p;
}

}  // namespace kiosk::card
