#include "cloud/profile_format.hpp"

#include "platform/bytes.hpp"
#include "card/issuance.hpp"
#include "card/profile.hpp"
#include "card/card_image.hpp"
#include "card/write_script.hpp"
#include "protocol/signing.hpp"

#include <filesystem>

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace kiosk::cloud {
namespace {

card::SymKey loadKey(const std::string& file, const char* what) {
  if (file.empty()) throw std::runtime_error(std::string(what) + " file is not configured");
  checkPrivateFile(file);
  auto key = card::loadSymKey(file);
  if (!key) throw std::runtime_error(std::string(what) + " in " + file + " is not a 16-byte key");
  return *key;
}

template <class T>
bool toUnsigned(std::int64_t value, T& out) {
  if (value < 0 || static_cast<std::uint64_t>(value) > std::numeric_limits<T>::max()) return false;
  out = static_cast<T>(value);
  return true;
}

bool parseNumber(const std::string& text, std::uint64_t& out) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && out != 0;
}

Failure cardFailure(card::CardError error, const std::string& what) {
  return {CloudError::CardFormat, what + ": " + std::string(card::describe(error))};
}

}  // namespace

std::unique_ptr<ProfileFormat> ProfileFormat::load(const std::string& vendingKeyFile,
                                                   const std::string& smMasterKeyFile) {
  return std::make_unique<ProfileFormat>(loadKey(vendingKeyFile, "vending key"),
                                         loadKey(smMasterKeyFile, "SM master key"));
}

CloudResult<std::string> ProfileFormat::mintToken(const TokenFields& fields) {
  card::CreditToken token;
  const auto utility = card::utilityFromString(fields.utility);
  if (!utility) return failWith(CloudError::CardFormat, "unknown utility " + fields.utility);
  token.utility = *utility;
  if (!parseNumber(fields.meterNumber, token.meterNumber) ||
      !toUnsigned(fields.keyVersion, token.keyVersion) ||
      !toUnsigned(fields.sequence, token.sequence) || !toUnsigned(fields.amount, token.amount) ||
      !toUnsigned(fields.issuedAt, token.issuedAt)) {
    return failWith(CloudError::CardFormat, "token field out of range");
  }
  auto minted = card::mintToken(m_vending, token);
  if (!minted) return Unexpected<Failure>{cardFailure(minted.error(), "minting failed")};
  return kiosk::toHex(card::encodeToken(*minted));
}

CloudResult<nlohmann::json> ProfileFormat::creditWriteScript(const std::string& cardNumber,
                                                             const std::string& tokenHex,
                                                             const std::string& challengeHex) {
  std::uint64_t number = 0;
  if (!parseNumber(cardNumber, number)) return failWith(CloudError::BadRequest, "bad card number");
  const auto challenge = kiosk::fromHex(challengeHex);
  if (!challenge || challenge->size() != card::profile::kChallengeSize) {
    return failWith(CloudError::BadChallenge, "challenge must be 8 bytes of hex");
  }
  const auto record = kiosk::fromHex(tokenHex);
  if (!record) return failWith(CloudError::Internal, "stored token is not hex");
  auto token = card::decodeToken(*record);
  if (!token) return Unexpected<Failure>{cardFailure(token.error(), "stored token")};
  auto script = card::buildCreditWriteScript(m_smMaster, number, *challenge, *token,
                                             card::creditRecordFor(token->sequence));
  if (!script) return Unexpected<Failure>{cardFailure(script.error(), "write script")};
  return nlohmann::json::parse(card::writeScriptToJson(*script));
}

CloudResult<MeterReturn> ProfileFormat::verifyReturn(const std::string& returnHex,
                                                     std::int64_t keyVersion) {
  const auto bytes = kiosk::fromHex(returnHex);
  if (!bytes) return failWith(CloudError::BadReturnData, "return is not hex");
  auto record = card::decodeReturn(*bytes);
  if (!record) return failWith(CloudError::BadReturnData, "RETURN data does not parse");
  if (record->keyVersion != keyVersion) {
    return failWith(CloudError::BadReturnData, "RETURN data uses another key version");
  }
  const auto key = card::deriveReturnKey(m_vending, record->meterNumber, record->keyVersion);
  if (!card::verifyReturn(*record, key)) {
    return failWith(CloudError::BadReturnData, "RETURN MAC does not verify");
  }
  return MeterReturn{std::to_string(record->meterNumber),
                     static_cast<std::int64_t>(record->lastSequence),
                     record->remainingCredit,
                     static_cast<std::int64_t>(record->consumption),
                     record->timestamp,
                     static_cast<std::int64_t>(record->flags)};
}

std::string ProfileFormat::newDeliveryNonce() {
  return protocol::randomHex(card::profile::kDeliveryNonceSize);
}

CloudResult<void> ProfileFormat::verifyDelivery(const DeliveryClaim& claim) {
  auto unproven = [](const std::string& why) { return failWith(CloudError::DeliveryUnproven, why); };
  const auto tokenBytes = kiosk::fromHex(claim.tokenHex);
  if (!tokenBytes) return failWith(CloudError::Internal, "stored token is not hex");
  auto token = card::decodeToken(*tokenBytes);
  if (!token) return Unexpected<Failure>{cardFailure(token.error(), "stored token")};
  if (!claim.proof.cardSignature.empty()) {
    if (claim.cardPublicKey.empty()) {
      return unproven("card " + claim.cardNumber + " has no registered public key");
    }
    std::uint64_t number = 0;
    const auto point = kiosk::fromHex(claim.cardPublicKey);
    const auto nonce = kiosk::fromHex(claim.nonceHex);
    if (!parseNumber(claim.cardNumber, number) || !point || !nonce) {
      return failWith(CloudError::Internal, "stored card number, key or nonce is malformed");
    }
    auto key = card::EcKey::fromPublicPoint(*point);
    if (!key) return failWith(CloudError::Internal, "registered public key of card " + claim.cardNumber + " is not a P-256 point");
    const auto signature = kiosk::fromHex(claim.proof.cardSignature);
    const auto message = card::deliveryProofMessage(number, card::creditRecordFor(token->sequence),
                                                    *tokenBytes, *nonce);
    if (!signature || !key->verify(message, *signature)) {
      return unproven("the card's signature does not prove this token on card " + claim.cardNumber);
    }
    return {};
  }
  if (!claim.proof.meterReturn.empty()) {
    // The meter's RETURN, checked as a reading is (format, key version, MAC).
    auto reading = verifyReturn(claim.proof.meterReturn, token->keyVersion);
    if (!reading) return unproven("meter_return: " + reading.error().message);
    if (reading->meterNumber != std::to_string(token->meterNumber)) {
      return unproven("the RETURN is not from the token's meter");
    }
    if (reading->lastSequence < static_cast<std::int64_t>(token->sequence)) {
      return unproven("the RETURN does not show the token loaded");
    }
    return {};
  }
  return unproven("delivery needs the card's proof: card_signature or meter_return");
}

namespace {

// The price the meter shows and uses offline: the single rate, the first tier, or the flat
// band (the cloud's tariff stays the reference for bills).
std::uint32_t meterPrice(const nlohmann::json& tariff) {
  std::int64_t price = 60;
  if (tariff.is_object()) {
    const std::string kind = tariff.value("kind", "");
    if (kind == "single") price = tariff.value("rate", price);
    if (kind == "tiered" && !tariff["tiers"].empty()) price = tariff["tiers"][0].value("rate", price);
    if (kind == "time_of_use") {
      for (const auto& band : tariff["bands"]) {
        if (band.value("name", "") == "flat") price = band.value("rate", price);
      }
    }
  }
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(price, 1, 1000000));
}

}  // namespace

CloudResult<nlohmann::json> issueCardFiles(Store& store, const ServerConfig& config,
                                           const std::string& cardNumber, const std::string& outDir) {
  card::EcKey issuer;
  card::SymKey smMaster{};
  try {
    if (config.issuerKeyFile.empty()) throw std::runtime_error("issuer_key_file is not configured");
    checkPrivateFile(config.issuerKeyFile);
    auto loaded = card::EcKey::loadPem(config.issuerKeyFile);
    if (!loaded || !loaded->hasPrivate()) {
      throw std::runtime_error(config.issuerKeyFile + " is not an ECDSA private key");
    }
    issuer = std::move(loaded).value();
    smMaster = loadKey(config.smMasterKeyFile, "SM master key");
  } catch (const std::exception& e) {
    return failWith(CloudError::CardFormat, e.what());
  }
  auto info = store.cardForIssue(cardNumber);
  if (!info) return Unexpected<Failure>{info.error()};
  card::IssueRequest request;
  if (!parseNumber(cardNumber, request.cardNumber)) {
    return failWith(CloudError::BadRequest, "card number must be digits");
  }
  const auto kind = card::cardKindFromString(info->kind);
  const auto utility = card::utilityFromString(info->utility);
  if (!kind || !utility) return failWith(CloudError::BadRequest, "card kind or utility unknown");
  request.kind = *kind;
  request.utility = *utility;
  const std::string meter = info->meterNumber;
  if (!meter.empty() && !parseNumber(meter, request.meterNumber)) {
    return failWith(CloudError::BadRequest, "meter number must be digits");
  }
  request.accountNumber = info->accountId;
  if (request.accountNumber.empty()) request.accountNumber = "STAFF";
  request.params.utility = *utility;
  request.params.pricePerUnit =
      meterPrice(info->tariffSpec ? nlohmann::json::parse(*info->tariffSpec, nullptr, false)
                                  : nlohmann::json(nullptr));
  request.params.alarmLevels = {2000, 1000, 500};
  auto image = card::issueCard(request, issuer, smMaster);
  if (!image) return Unexpected<Failure>{cardFailure(image.error(), "issuance")};
  std::error_code ec;
  std::filesystem::create_directories(outDir, ec);
  const auto file = std::filesystem::path(outDir) / ("card-" + cardNumber + ".json");
  if (!card::saveCardFile(file, *image)) {
    return failWith(CloudError::Internal, "cannot write " + file.string());
  }
  auto id = card::decodeIdFile(image->id);
  if (!id) return Unexpected<Failure>{cardFailure(id.error(), "issued ID file")};
  const std::string publicKey = kiosk::toHex(id->cardPublicKey);
  auto recorded = store.setCardPublicKey(cardNumber, publicKey);
  if (!recorded) return Unexpected<Failure>{recorded.error()};
  return nlohmann::json{{"card_number", cardNumber},
                        {"file", file.string()},
                        {"public_key", publicKey},
                        {"price_per_unit", request.params.pricePerUnit}};
}

}  // namespace kiosk::cloud
