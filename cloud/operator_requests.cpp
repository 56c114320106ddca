#include "platform/time_format.hpp"
#include "cloud/operator_requests.hpp"

#include "protocol/signing.hpp"
#include "cloud/request_json.hpp"
#include "protocol/limits.hpp"
#include "protocol/text.hpp"

#include <algorithm>
#include <cctype>

namespace kiosk::cloud {
namespace {

using nlohmann::json;
namespace limits = protocol::limits;

// Text fields of operator requests, no longer than a kiosk reads them (bytes).
CloudResult<std::string> needText(const json& body, const char* key, std::size_t maxLength) {
  KIOSK_TRY(text, stringField(body, key));
  if (text->size() > maxLength) {
    return failWith(CloudError::BadRequest,
                    std::string(key) + " is longer than " + std::to_string(maxLength) + " bytes");
  }
  return std::move(*text);
}
CloudResult<std::string> optText(const json& body, const char* key, std::size_t maxLength,
                                 std::string fallback = "") {
  std::string text = optStringField(body, key, std::move(fallback));
  if (text.size() > maxLength) {
    return failWith(CloudError::BadRequest,
                    std::string(key) + " is longer than " + std::to_string(maxLength) + " bytes");
  }
  return text;
}

// Ids follow protocol::isId, so the routes that take them can address what was created.
constexpr const char* kIdRule = " must be 1 to 64 of A-Z a-z 0-9 _ . -";
CloudResult<std::string> needId(const json& body, const char* key) {
  KIOSK_TRY(id, stringField(body, key));
  if (!protocol::isId(*id)) return failWith(CloudError::BadRequest, std::string(key) + kIdRule);
  return std::move(*id);
}
CloudResult<std::string> optId(const json& body, const char* key, std::string fallback = "") {
  std::string id = optStringField(body, key, std::move(fallback));
  if (!id.empty() && !protocol::isId(id)) return failWith(CloudError::BadRequest, std::string(key) + kIdRule);
  return id;
}

CloudResult<std::string> needUtility(const json& body) {
  KIOSK_TRY(utility, stringField(body, "utility"));
  if (*utility != "electricity" && *utility != "water") {
    return failWith(CloudError::BadRequest, "utility must be electricity or water");
  }
  return std::move(*utility);
}

}  // namespace

CloudResult<NewTariff> readNewTariff(const json& body) {
  KIOSK_TRY(id, needId(body, "id"));
  KIOSK_TRY(name, needText(body, "name", limits::kMaxNameLength));
  KIOSK_TRY(utility, needUtility(body));
  if (!body.contains("spec")) return failWith(CloudError::BadRequest, "spec is missing");
  KIOSK_TRY(tariff, parseTariff(body["spec"]));
  return NewTariff{*id, *name, *utility, *tariff};
}

CloudResult<NewAccount> readNewAccount(const json& body) {
  KIOSK_TRY(id, needId(body, "id"));
  KIOSK_TRY(resident, needText(body, "resident", limits::kMaxNameLength));
  KIOSK_TRY(building, needText(body, "building", limits::kMaxPlaceLength));
  KIOSK_TRY(room, needText(body, "room", limits::kMaxPlaceLength));
  KIOSK_TRY(household, needText(body, "household", limits::kMaxPlaceLength));
  const std::string policy = optStringField(body, "fee_policy", "FEES_FIRST");
  if (policy != "FEES_FIRST" && policy != "PERCENT" && policy != "CREDIT_ONLY") {
    return failWith(CloudError::BadRequest, "fee_policy must be FEES_FIRST, PERCENT or CREDIT_ONLY");
  }
  std::int64_t share = 100;
  if (body.contains("fee_share_pct")) {
    KIOSK_TRY(pct, integerField(body, "fee_share_pct"));
    if (*pct < 0 || *pct > 100) return failWith(CloudError::BadRequest, "fee_share_pct is 0..100");
    share = *pct;
  }
  return NewAccount{*id, *resident, *building, *room, *household, policy, share};
}

CloudResult<NewMeter> readNewMeter(const json& body) {
  KIOSK_TRY(number, stringField(body, "number"));
  if (!protocol::isNumber(*number)) return failWith(CloudError::BadRequest, "meter number must be 1 to 19 digits");
  KIOSK_TRY(account, needId(body, "account_id"));
  KIOSK_TRY(utility, needUtility(body));
  KIOSK_TRY(tariff, optId(body, "tariff_id"));
  std::int64_t keyVersion = 1;
  if (body.contains("key_version")) {
    KIOSK_TRY(version, integerField(body, "key_version"));
    if (*version < 1 || *version > 255) return failWith(CloudError::BadRequest, "key_version 1..255");
    keyVersion = *version;
  }
  return NewMeter{*number, *account, *utility, *tariff, keyVersion};
}

CloudResult<NewCard> readNewCard(const json& body) {
  KIOSK_TRY(number, stringField(body, "number"));
  if (!protocol::isNumber(*number)) return failWith(CloudError::BadRequest, "card number must be digits");
  KIOSK_TRY(kind, stringField(body, "kind"));
  if (*kind != "resident" && *kind != "staff") {
    return failWith(CloudError::BadRequest, "kind must be resident or staff");
  }
  KIOSK_TRY(account, optId(body, "account_id"));
  const std::string meter = optStringField(body, "meter_number");
  if (*kind == "resident" && (account->empty() || meter.empty())) {
    return failWith(CloudError::BadRequest, "a resident card needs account_id and meter_number");
  }
  if (!meter.empty() && !protocol::isNumber(meter)) {
    return failWith(CloudError::BadRequest, "meter_number must be 1 to 19 digits");
  }
  KIOSK_TRY(publicKey, readCardPublicKey(body, false));
  return NewCard{*number, *kind, *account, meter, *publicKey};
}

CloudResult<std::string> readCardPublicKey(const json& body, bool required) {
  // The card's key checks its delivery proofs: an uncompressed P-256 point, 04 || X || Y.
  const std::string publicKey = optStringField(body, "public_key");
  if ((required || !publicKey.empty()) &&
      (!protocol::isHexOf(publicKey, 130) || !publicKey.starts_with("04"))) {
    return failWith(CloudError::BadRequest, "public_key must be 65 bytes of hex: 04, X and Y");
  }
  return publicKey;
}

CloudResult<NewFee> readNewFee(const json& body) {
  KIOSK_TRY(account, needId(body, "account_id"));
  KIOSK_TRY(item, stringField(body, "item"));
  if (*item != "property" && *item != "rent" && *item != "water" && *item != "other") {
    return failWith(CloudError::BadRequest, "item must be property, rent, water or other");
  }
  KIOSK_TRY(amount, integerField(body, "amount"));
  if (*amount <= 0 || *amount > limits::kMaxMoney) {
    return failWith(CloudError::BadRequest,
                    "amount must be from 1 to " + std::to_string(limits::kMaxMoney));
  }
  KIOSK_TRY(id, optId(body, "id", "fee_" + protocol::randomHex(8)));
  KIOSK_TRY(description, optText(body, "description", limits::kMaxDescriptionLength));
  return NewFee{*id, *account, *item, *description, *amount};
}

CloudResult<NewKiosk> readNewKiosk(const json& body) {
  KIOSK_TRY(id, needId(body, "id"));
  const std::string secret = optStringField(body, "secret", protocol::randomHex(32));
  if (secret.size() < 32) return failWith(CloudError::BadRequest, "secret needs 32+ characters");
  KIOSK_TRY(location, optText(body, "location", limits::kMaxLocationLength));
  KIOSK_TRY(building, optText(body, "building", limits::kMaxPlaceLength));
  KIOSK_TRY(phone, optText(body, "service_phone", limits::kMaxServiceTextLength));
  KIOSK_TRY(hours, optText(body, "service_hours", limits::kMaxServiceTextLength));
  KIOSK_TRY(zone, optText(body, "time_zone", limits::kMaxZoneLength));
  if (!zone->empty() && !platform::knownZone(*zone)) {
    return failWith(CloudError::BadRequest, "time_zone is not a known time zone");
  }
  return NewKiosk{*id, secret, *location, *building, *phone, *hours, *zone};
}

CloudResult<NewStaff> readNewStaff(const json& body) {
  KIOSK_TRY(id, needId(body, "id"));
  KIOSK_TRY(name, needText(body, "name", limits::kMaxNameLength));
  KIOSK_TRY(pin, stringField(body, "pin"));
  if (pin->size() < 4 || pin->size() > 12 ||
      !std::all_of(pin->begin(), pin->end(), [](unsigned char c) { return std::isdigit(c); })) {
    return failWith(CloudError::BadRequest, "pin must be 4 to 12 digits");
  }
  const std::string card = optStringField(body, "card_number");
  if (!card.empty() && !protocol::isNumber(card)) {
    return failWith(CloudError::BadRequest, "card_number must be 1 to 19 digits");
  }
  return NewStaff{*id, *name, *pin, card};
}

CloudResult<std::string> readStatus(const std::string& table, const json& body) {
  KIOSK_TRY(status, stringField(body, "status"));
  if (*status != "ACTIVE" && *status != "BLOCKED" && !(table == "cards" && *status == "LOST")) {
    return failWith(CloudError::BadRequest, "status must be ACTIVE or BLOCKED (or LOST for cards)");
  }
  return std::move(*status);
}

}  // namespace kiosk::cloud
