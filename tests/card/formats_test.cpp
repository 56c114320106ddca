#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "card/write_script.hpp"
#include "fixtures.hpp"

namespace kiosk::card {
namespace {

using namespace test;

IdFile sampleId() {
  auto id = decodeIdFile(standardCard().id);
  EXPECT_TRUE(id);
  return id.value_or(IdFile{});
}

TEST(IdFile, RoundTripsAndVerifiesWithTheIssuerKey) {
  const CardImage card = standardCard();
  const IdFile id = decodeIdFile(card.id).value();
  EXPECT_EQ(id.cardNumber, kCardNumber);
  EXPECT_EQ(id.meterNumber, kMeterNumber);
  EXPECT_EQ(id.accountNumber, kAccount);
  EXPECT_EQ(id.kind, CardKind::Resident);
  EXPECT_EQ(id.utility, Utility::Electricity);
  EXPECT_EQ(id.cardPublicKey, loadKey(kCardPem).publicPoint());
  EXPECT_EQ(encodeIdFile(id).value(), card.id);
  EXPECT_TRUE(verifyIdFile(id, loadKey(kIssuerPem).publicOnly()));
  EXPECT_FALSE(verifyIdFile(id, loadKey(kOtherPem).publicOnly()));
}

TEST(IdFile, AnyChangedFieldBreaksTheIssuerSignature) {
  const EcKey issuer = loadKey(kIssuerPem).publicOnly();
  IdFile id = sampleId();
  id.accountNumber = "ACC-2024-0002";
  EXPECT_FALSE(verifyIdFile(id, issuer));
  id = sampleId();
  id.cardPublicKey = loadKey(kOtherPem).publicPoint();
  EXPECT_FALSE(verifyIdFile(id, issuer));
  id = sampleId();
  id.kind = CardKind::Staff;
  EXPECT_FALSE(verifyIdFile(id, issuer));
}

TEST(IdFile, MalformedFilesAreRejected) {
  const Bytes good = standardCard().id;
  EXPECT_FALSE(decodeIdFile(ByteView(good).first(good.size() - 1)));
  Bytes trailing = good;
  trailing.push_back(0x00);
  EXPECT_FALSE(decodeIdFile(trailing));
  Bytes wrongTemplate = good;
  wrongTemplate[0] = 0x71;
  EXPECT_FALSE(decodeIdFile(wrongTemplate));
  // Card kind 3 does not exist: byte after "DF0201".
  Bytes badKind = good;
  const std::string hexText = toHex(good);
  const auto kindAt = hexText.find("DF0201") / 2 + 3;
  badKind[kindAt] = 0x03;
  EXPECT_FALSE(decodeIdFile(badKind));
  EXPECT_FALSE(decodeIdFile({}));
  IdFile noKey = sampleId();
  noKey.cardPublicKey.resize(33);
  EXPECT_FALSE(encodeIdFile(noKey));
  IdFile longAccount = sampleId();
  longAccount.accountNumber = std::string(33, 'A');
  EXPECT_FALSE(encodeIdFile(longAccount));
}

TEST(Token, RoundTripsAndVerifiesWithThePerMeterKey) {
  const CreditToken token = mintedToken(7, 5000);
  const Bytes record = encodeToken(token);
  ASSERT_EQ(record.size(), profile::kTokenSize);
  EXPECT_EQ(decodeToken(record).value(), token);
  const SymKey key = deriveTokenKey(kVendingKey, kMeterNumber, 1);
  EXPECT_TRUE(verifyToken(token, key));
  EXPECT_FALSE(verifyToken(token, deriveTokenKey(kVendingKey, kMeterNumber + 1, 1)));
  EXPECT_FALSE(verifyToken(token, deriveTokenKey(kVendingKey, kMeterNumber, 2)));
  CreditToken inflated = token;
  inflated.amount = 50000;
  EXPECT_FALSE(verifyToken(inflated, key));
}

TEST(Token, EmptyRecordsAndMalformedTokens) {
  EXPECT_FALSE(decodeTokenRecord(Bytes(32, 0)).value().has_value());
  EXPECT_FALSE(decodeToken(Bytes(32, 0)));
  const Bytes good = encodeToken(mintedToken(1, 100));
  EXPECT_FALSE(decodeTokenRecord(ByteView(good).first(31)));
  Bytes badFormat = good;
  badFormat[0] = 0x02;
  EXPECT_FALSE(decodeTokenRecord(badFormat));
  Bytes badUtility = good;
  badUtility[1] = 0x07;
  EXPECT_FALSE(decodeTokenRecord(badUtility));
  Bytes zeroAmount = good;
  std::fill(zeroAmount.begin() + 16, zeroAmount.begin() + 20, 0);
  EXPECT_FALSE(decodeTokenRecord(zeroAmount));
  EXPECT_FALSE(mintToken(kVendingKey, tokenFields(0, 100)));
  EXPECT_FALSE(mintToken(kVendingKey, tokenFields(1, 0)));
}

TEST(Token, SameSequenceSameRecordAndEightFillTheRing) {
  EXPECT_EQ(creditRecordFor(1), 1);
  EXPECT_EQ(creditRecordFor(8), 8);
  EXPECT_EQ(creditRecordFor(9), 1);
  EXPECT_EQ(creditRecordFor(9), creditRecordFor(9));
}

TEST(Return, RoundTripsSealsAndDetectsTampering) {
  ReturnRecord r;
  r.meterNumber = kMeterNumber;
  r.lastSequence = 12;
  r.remainingCredit = -250;
  r.consumption = 123456789;
  r.timestamp = 1767312000;
  r.flags = return_flags::kCutOff | return_flags::kLowBalance;
  r.alarmLevel = 3;
  const SymKey key = deriveReturnKey(kVendingKey, kMeterNumber, 1);
  sealReturn(r, key);
  const Bytes file = encodeReturn(r);
  ASSERT_EQ(file.size(), profile::kReturnSize);
  const ReturnRecord back = decodeReturn(file).value();
  EXPECT_EQ(back, r);
  EXPECT_EQ(back.remainingCredit, -250);
  EXPECT_TRUE(back.cutOff());
  EXPECT_TRUE(back.lowBalance());
  EXPECT_FALSE(back.tamper());
  EXPECT_TRUE(verifyReturn(back, key));
  ReturnRecord forged = back;
  forged.remainingCredit = 100000;
  EXPECT_FALSE(verifyReturn(forged, key));
  EXPECT_FALSE(verifyReturn(back, deriveTokenKey(kVendingKey, kMeterNumber, 1)));
}

TEST(Return, BlankAndMalformedFiles) {
  EXPECT_FALSE(decodeReturnFile(Bytes(profile::kReturnSize, 0)).value().has_value());
  EXPECT_FALSE(decodeReturnFile(Bytes(profile::kReturnSize - 1, 0)));
  ReturnRecord r;
  r.meterNumber = 1;
  Bytes file = encodeReturn(r);
  file[4] = 4;  // alarm level above 3
  EXPECT_FALSE(decodeReturnFile(file));
  file = encodeReturn(r);
  file[3] = 0x80;  // unknown flag
  EXPECT_FALSE(decodeReturnFile(file));
}

TEST(Params, RoundTripsAndRejectsNonsense) {
  const Params p = standardParams();
  const Bytes file = encodeParams(p);
  ASSERT_EQ(file.size(), profile::kParamsSize);
  EXPECT_EQ(decodeParams(file).value(), p);
  Params zeroPrice = p;
  zeroPrice.pricePerUnit = 0;
  EXPECT_FALSE(decodeParams(encodeParams(zeroPrice)));
  Params unordered = p;
  unordered.alarmLevels = {500, 1000, 2000};
  EXPECT_FALSE(decodeParams(encodeParams(unordered)));
  EXPECT_FALSE(decodeParams(ByteView(file).first(23)));
}

TEST(CardFile, RoundTripsThroughJsonAndRejectsWrongSizes) {
  const CardImage image = standardCard();
  const std::string json = cardImageToJson(image);
  EXPECT_EQ(cardImageFromJson(json).value(), image);
  auto doc = nlohmann::json::parse(json);
  doc["sm_key"] = "0011";
  EXPECT_FALSE(cardImageFromJson(doc.dump()));
  doc = nlohmann::json::parse(json);
  doc["credit"].erase(0);
  EXPECT_FALSE(cardImageFromJson(doc.dump()));
  doc = nlohmann::json::parse(json);
  doc["format"] = "other";
  EXPECT_FALSE(cardImageFromJson(doc.dump()));
  EXPECT_FALSE(cardImageFromJson("{not json"));
  EXPECT_FALSE(cardImageFromJson("[]"));
}

TEST(CardFile, SavesAndLoads) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("kiosk-card-" + std::to_string(::getpid()) + ".json");
  const CardImage image = standardCard();
  ASSERT_TRUE(saveCardFile(path, image));
  EXPECT_EQ(loadCardFile(path).value(), image);
  std::filesystem::remove(path);
  EXPECT_EQ(loadCardFile(path).error(), CardError::NoCard);
}

TEST(WriteScript, JsonRoundTripAndStrictParsing) {
  const Bytes challenge = hex("0102030405060708");
  const auto script =
      buildCreditWriteScript(kSmMaster, kCardNumber, challenge, mintedToken(1, 100), 1).value();
  ASSERT_EQ(script.steps.size(), 2U);
  const std::string json = writeScriptToJson(script);
  EXPECT_EQ(writeScriptFromJson(json).value(), script);
  EXPECT_FALSE(writeScriptFromJson("{}"));
  EXPECT_FALSE(writeScriptFromJson(R"({"version":1,"steps":[{"apdu":"00","expect_sw":"9000"}]})"));
  EXPECT_FALSE(writeScriptFromJson(R"({"version":2,"steps":[{"apdu":"00840000","expect_sw":"9000"}]})"));
  EXPECT_FALSE(writeScriptFromJson(R"({"version":1,"steps":[{"apdu":"00840000","expect_sw":"90"}]})"));
  EXPECT_TRUE(writeScriptFromJson(R"({"version":1,"steps":[{"apdu":"00840000","expect_sw":"9000"}]})"));
  EXPECT_FALSE(buildCreditWriteScript(kSmMaster, kCardNumber, hex("0102"), mintedToken(1, 100), 1));
  EXPECT_FALSE(buildCreditWriteScript(kSmMaster, kCardNumber, challenge, mintedToken(1, 100), 9));
}

TEST(Names, KindsAndUtilities) {
  EXPECT_EQ(cardKindFromString("staff"), CardKind::Staff);
  EXPECT_EQ(utilityFromString("water"), Utility::Water);
  EXPECT_FALSE(utilityFromString("gas"));
  EXPECT_EQ(toString(Utility::Electricity), "electricity");
  EXPECT_EQ(toString(CardKind::Resident), "resident");
}

}  // namespace
}  // namespace kiosk::card
