#include "card/write_script.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "card/apdu.hpp"

namespace kiosk::card {

namespace {

Bytes mustEncode(const Apdu& apdu) {
  auto encoded = encodeApdu(apdu);
  // The profile's own commands are short APDUs by construction.
  return encoded ? std::move(*encoded) : Bytes{};
}

}  // namespace

namespace commands {

Bytes selectAid() {
  return mustEncode({profile::kClaPlain, profile::kInsSelect, 0x04, 0x0C,
                     Bytes(profile::kAid.begin(), profile::kAid.end()), std::nullopt});
}

Bytes getChallenge() {
  return mustEncode({profile::kClaPlain, profile::kInsGetChallenge, 0x00, 0x00, {},
                     static_cast<std::uint16_t>(profile::kChallengeSize)});
}

Bytes readBinary(std::uint8_t sfi, std::uint8_t offset, std::uint16_t le) {
  return mustEncode({profile::kClaPlain, profile::kInsReadBinary,
                     static_cast<std::uint8_t>(0x80U | sfi), offset, {}, le});
}

Bytes internalAuthenticate(ByteView challenge) {
  return mustEncode({profile::kClaPlain, profile::kInsInternalAuthenticate, 0x00, 0x00,
                     Bytes(challenge.begin(), challenge.end()), std::uint16_t{256}});
}

Bytes proveRecord(std::uint8_t record, ByteView nonce) {
  return mustEncode({profile::kClaPlain, profile::kInsInternalAuthenticate,
                     profile::kAuthDeliveryProof, record, Bytes(nonce.begin(), nonce.end()),
                     std::uint16_t{256}});
}

Bytes readRecord(std::uint8_t sfi, std::uint8_t record) {
  return mustEncode({profile::kClaPlain, profile::kInsReadRecord, record,
                     static_cast<std::uint8_t>((unsigned{sfi} << 3U) | 0x04U), {}, std::uint16_t{256}});
}

Bytes readAllRecords(std::uint8_t sfi) {
  return mustEncode({profile::kClaPlain, profile::kInsReadRecord, 0x01,
                     static_cast<std::uint8_t>((unsigned{sfi} << 3U) | 0x05U), {}, std::uint16_t{256}});
}

Bytes updateRecordPlain(std::uint8_t sfi, std::uint8_t record, ByteView data) {
  return mustEncode({profile::kClaPlain, profile::kInsUpdateRecord, record,
                     static_cast<std::uint8_t>((unsigned{sfi} << 3U) | 0x04U),
                     Bytes(data.begin(), data.end()), std::nullopt});
}

Bytes updateBinaryPlain(std::uint8_t sfi, std::uint8_t offset, ByteView data) {
  return mustEncode({profile::kClaPlain, profile::kInsUpdateBinary,
                     static_cast<std::uint8_t>(0x80U | sfi), offset,
                     Bytes(data.begin(), data.end()), std::nullopt});
}

}  // namespace commands

std::array<std::uint8_t, 8> smMac(const SymKey& cardSmKey, ByteView challenge, std::uint8_t cla,
                                  std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                                  ByteView plainData) {
  Bytes input(challenge.begin(), challenge.end());
  input.insert(input.end(), {cla, ins, p1, p2, static_cast<std::uint8_t>(plainData.size())});
  input.insert(input.end(), plainData.begin(), plainData.end());
  const auto full = aesCmac(cardSmKey, input);
  std::array<std::uint8_t, 8> mac{};
  std::copy_n(full.begin(), mac.size(), mac.begin());
  return mac;
}

Result<Bytes, CardError> buildSmCommand(const SymKey& cardSmKey, ByteView challenge,
                                        std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                                        ByteView plainData) {
  if (challenge.size() != profile::kChallengeSize || plainData.empty() ||
      plainData.size() + profile::kSmMacSize > 255) {
    return fail(CardError::Protocol);
  }
  const auto mac = smMac(cardSmKey, challenge, profile::kClaSm, ins, p1, p2, plainData);
  Apdu apdu{profile::kClaSm, ins, p1, p2, Bytes(plainData.begin(), plainData.end()),
            std::nullopt};
  apdu.data.insert(apdu.data.end(), mac.begin(), mac.end());
  return encodeApdu(apdu);
}

Result<WriteScript, CardError> buildCreditWriteScript(const SymKey& smMaster,
                                                      std::uint64_t cardNumber,
                                                      ByteView cardChallenge,
                                                      const CreditToken& token,
                                                      std::uint8_t record) {
  if (record < 1 || record > profile::kCreditRecords) return fail(CardError::Protocol);
  const SymKey key = deriveCardSmKey(smMaster, cardNumber);
  const Bytes data = encodeToken(token);
  auto update = buildSmCommand(key, cardChallenge, profile::kInsUpdateRecord, record,
                               static_cast<std::uint8_t>((unsigned{profile::kSfiCredit} << 3U) | 0x04U),
                               data);
  if (!update) return fail(update.error());
  WriteScript script;
  script.steps.push_back({std::move(*update), sw::kOk, std::nullopt});
  script.steps.push_back({commands::readAllRecords(profile::kSfiCredit), sw::kOk, data});
  return script;
}

Result<void, std::string> checkCreditWriteScript(const WriteScript& script,
                                                 const CreditToken& token) {
  const Bytes record = encodeToken(token);
  const auto& steps = script.steps;
  if (steps.size() != 2) return fail(std::string("script must have exactly two steps"));
  auto update = parseApdu(steps[0].apdu);
  const std::uint8_t creditP2 =
      static_cast<std::uint8_t>((unsigned{profile::kSfiCredit} << 3U) | 0x04U);
  if (!update || update->cla != profile::kClaSm || update->ins != profile::kInsUpdateRecord ||
      update->p1 != creditRecordFor(token.sequence) || update->p2 != creditP2 ||
      update->le.has_value() || update->data.size() != profile::kTokenSize + profile::kSmMacSize ||
      !std::equal(record.begin(), record.end(), update->data.begin()) ||
      steps[0].expectSw != sw::kOk || steps[0].expectRecord.has_value()) {
    return fail(std::string("script's first step is not the secure UPDATE RECORD of this token"));
  }
  if (steps[1].apdu != commands::readAllRecords(profile::kSfiCredit) ||
      steps[1].expectSw != sw::kOk || steps[1].expectRecord != record) {
    return fail(std::string("script's second step is not the read-back of this token"));
  }
  return {};
}

Result<WriteScript, CardError> buildParamsWriteScript(const SymKey& smMaster,
                                                      std::uint64_t cardNumber,
                                                      ByteView cardChallenge,
                                                      const Params& params) {
  const SymKey key = deriveCardSmKey(smMaster, cardNumber);
  const Bytes data = encodeParams(params);
  auto update =
      buildSmCommand(key, cardChallenge, profile::kInsUpdateBinary,
                     static_cast<std::uint8_t>(0x80U | profile::kSfiParams), 0x00, data);
  if (!update) return fail(update.error());
  WriteScript script;
  script.steps.push_back({std::move(*update), sw::kOk, std::nullopt});
  script.steps.push_back({commands::readBinary(profile::kSfiParams, 0,
                                               static_cast<std::uint16_t>(data.size())),
                          sw::kOk, data});
  return script;
}

std::string writeScriptToJson(const WriteScript& script) {
  nlohmann::json steps = nlohmann::json::array();
  for (const ScriptStep& step : script.steps) {
    nlohmann::json item{{"apdu", toHex(step.apdu)},
                        {"expect_sw", toHex(Bytes{static_cast<std::uint8_t>(step.expectSw >> 8U),
                                                  static_cast<std::uint8_t>(step.expectSw)})}};
    if (step.expectRecord) item["expect_record"] = toHex(*step.expectRecord);
    steps.push_back(std::move(item));
  }
  return nlohmann::json{{"version", 1}, {"steps", std::move(steps)}}.dump();
}

Result<WriteScript, CardError> writeScriptFromJson(std::string_view json) {
  const auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail(CardError::BadData);
  const auto version = doc.find("version");
  const auto steps = doc.find("steps");
  if (version == doc.end() || !version->is_number_integer() || *version != 1 ||
      steps == doc.end() || !steps->is_array() || steps->empty() || steps->size() > 16) {
    return fail(CardError::BadData);
  }
  WriteScript script;
  for (const auto& item : *steps) {
    if (!item.is_object()) return fail(CardError::BadData);
    const auto apdu = item.find("apdu");
    const auto expectSw = item.find("expect_sw");
    if (apdu == item.end() || !apdu->is_string() || expectSw == item.end() ||
        !expectSw->is_string()) {
      return fail(CardError::BadData);
    }
    ScriptStep step;
    const auto apduBytes = fromHex(apdu->get<std::string>());
    const auto swBytes = fromHex(expectSw->get<std::string>());
    if (!apduBytes || !parseApdu(*apduBytes) || !swBytes || swBytes->size() != 2) {
      return fail(CardError::BadData);
    }
    step.apdu = *apduBytes;
    step.expectSw = static_cast<std::uint16_t>(((*swBytes)[0] << 8U) | (*swBytes)[1]);
    if (const auto record = item.find("expect_record"); record != item.end()) {
      if (!record->is_string()) return fail(CardError::BadData);
      auto recordBytes = fromHex(record->get<std::string>());
      if (!recordBytes || recordBytes->empty()) return fail(CardError::BadData);
      step.expectRecord = std::move(*recordBytes);
    }
    script.steps.push_back(std::move(step));
  }
  return script;
}

}  // namespace kiosk::card
