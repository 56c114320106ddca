// The test vectors of docs/card-profile.md, byte for byte.
#include <gtest/gtest.h>

#include "card/write_script.hpp"
#include "fixtures.hpp"

namespace kiosk::card {
namespace {

using namespace test;

constexpr const char* kIdFile =
    "7081C0DF0108001E8DA789118001DF020101DF030101DF04080000005F75E96640"
    "DF050D4143432D323032342D30303031DF060101"
    "DF07410468E7AAFC7993A26AFC1B09C462EC6BDD7905F96E31820A144BBD4B17227720AE"
    "A037AAD570032483749C57EDC7BEBB7F792831A8C3227539E02FC46E2F10A689"
    "DF10473045022070C006834CB6F4F52ED6C43F656DC2AD8B47188554C725A61BB4354327E5ED4D"
    "022100CC6D1EC7C7E17B831FD78423C4A3B71226CDE3699EDD562D3FC87EEB1E9FD351";

TEST(Vectors, DemoKeys) {
  EXPECT_EQ(toHex(loadKey(kIssuerPem).privateScalar()),
            "6F164585F56CE92443B6339D46AD1967FD0C0648A4EDAD19CF3F7B64548C0103");
  EXPECT_EQ(toHex(loadKey(kIssuerPem).publicPoint()),
            "049BC32EABF3B467B5267793A93CDD1CF4BA11D7FCB4CE4AD270D4D6EEDA28F7E6"
            "5EDE02C4E0037A399DF8664DEA7947692B6668B25222DC78E0692DF823B5E41E");
  EXPECT_EQ(toHex(loadKey(kCardPem).privateScalar()),
            "C35102D57AD37F219D1C58985DFCC565DD53950AE5A8FDF87ED5066A882E45EB");
  EXPECT_EQ(toHex(loadKey(kCardPem).publicPoint()),
            "0468E7AAFC7993A26AFC1B09C462EC6BDD7905F96E31820A144BBD4B17227720AE"
            "A037AAD570032483749C57EDC7BEBB7F792831A8C3227539E02FC46E2F10A689");
}

TEST(Vectors, DerivedKeys) {
  EXPECT_EQ(toHex(deriveCardSmKey(kSmMaster, kCardNumber)), "17A0EAD57AA03384DDD6675EB3D50E74");
  EXPECT_EQ(toHex(deriveTokenKey(kVendingKey, kMeterNumber, 1)),
            "E3D0A4E49A74B4AEFBF1A9D4A4CE2040");
  EXPECT_EQ(toHex(deriveReturnKey(kVendingKey, kMeterNumber, 1)),
            "F9DC78264E38BBA01392F22E162A6DCE");
}

TEST(Vectors, Token) {
  const CreditToken token = mintedToken(1, 5000);
  EXPECT_EQ(toHex(encodeToken(token)),
            "010101000000005F75E9664000000001000013886955B900AB9F3B9460AAE853");
  EXPECT_EQ(toHex(aesCmac(deriveTokenKey(kVendingKey, kMeterNumber, 1),
                          ByteView(encodeToken(token)).first(24))),
            "AB9F3B9460AAE8530DAF7002EA5C2281");
}

TEST(Vectors, WriteScript) {
  const auto script = buildCreditWriteScript(kSmMaster, kCardNumber, hex("0102030405060708"),
                                             mintedToken(1, 5000), 1)
                          .value();
  ASSERT_EQ(script.steps.size(), 2U);
  EXPECT_EQ(toHex(script.steps[0].apdu),
            "04DC011428010101000000005F75E9664000000001000013886955B900AB9F3B9460AAE853"
            "68AE35A78B59E440");
  EXPECT_EQ(toHex(script.steps[1].apdu), "00B2011500");
  EXPECT_EQ(toHex(script.steps[1].expectRecord.value()),
            "010101000000005F75E9664000000001000013886955B900AB9F3B9460AAE853");
  EXPECT_EQ(
      toHex(aesCmac(deriveCardSmKey(kSmMaster, kCardNumber),
                    hex("010203040506070804DC011420"
                        "010101000000005F75E9664000000001000013886955B900AB9F3B9460AAE853"))),
      "68AE35A78B59E440AD3D68BF001AD776");
}

TEST(Vectors, Return) {
  ReturnRecord r;
  r.meterNumber = kMeterNumber;
  r.lastSequence = 1;
  r.remainingCredit = -250;
  r.consumption = 123456;
  r.timestamp = 1767312000;
  r.flags = return_flags::kCutOff | return_flags::kLowBalance;
  r.alarmLevel = 3;
  sealReturn(r, deriveReturnKey(kVendingKey, kMeterNumber, 1));
  EXPECT_EQ(toHex(encodeReturn(r)),
            "01010105030000000000005F75E9664000000001FFFFFFFFFFFFFF06000000000001E240"
            "0000000069570A80D57B8187BF3C788E");
}

TEST(Vectors, Params) {
  EXPECT_EQ(toHex(encodeParams(standardParams())),
            "010100000000003C000007D0000003E8000001F40000012C");
}

TEST(Vectors, IdFileSignedDataAndSignature) {
  const IdFile id = decodeIdFile(hex(kIdFile)).value();
  EXPECT_EQ(id.cardNumber, kCardNumber);
  EXPECT_EQ(id.meterNumber, kMeterNumber);
  EXPECT_EQ(id.accountNumber, kAccount);
  EXPECT_EQ(toHex(idSignedData(id).value()),
            "4B494F534B2D434152442D49442D7631"
            "7076DF0108001E8DA789118001DF020101DF030101DF04080000005F75E96640"
            "DF050D4143432D323032342D30303031DF060101"
            "DF07410468E7AAFC7993A26AFC1B09C462EC6BDD7905F96E31820A144BBD4B17227720AE"
            "A037AAD570032483749C57EDC7BEBB7F792831A8C3227539E02FC46E2F10A689");
  EXPECT_TRUE(verifyIdFile(id, EcKey::fromPublicPoint(loadKey(kIssuerPem).publicPoint()).value()));
  // The same unsigned part as a freshly issued card of the fixtures.
  const IdFile fresh = decodeIdFile(standardCard().id).value();
  EXPECT_EQ(idSignedData(fresh).value(), idSignedData(id).value());
}

TEST(Vectors, InternalAuthenticate) {
  const Bytes challenge = hex("00112233445566778899AABBCCDDEEFF");
  EXPECT_EQ(toHex(commands::internalAuthenticate(challenge)),
            "008800001000112233445566778899AABBCCDDEEFF00");
  EXPECT_EQ(toHex(internalAuthMessage(kCardNumber, challenge)),
            "4B494F534B2D434152442D415554482D7631001E8DA78911800100112233445566778899AABBCCDDEEFF");
  const EcKey cardPublic = EcKey::fromPublicPoint(loadKey(kCardPem).publicPoint()).value();
  EXPECT_TRUE(cardPublic.verify(
      internalAuthMessage(kCardNumber, challenge),
      hex("304502205C37B7FBD4F636BE384E37CE29DB09FA4125D4A8A9C7F708B06C7B69753D5260"
          "022100F107E6A145AC923E91DF637DA3B15B9C096393306E3168784A9B181A5963A3E9")));
}

// Delivery proof of the vector token in record 1 with the nonce below: the command, what the
// card signs, and a signature by the card key (made with `openssl dgst -sha256 -sign`).
TEST(Vectors, DeliveryProof) {
  const Bytes nonce = hex("00112233445566778899AABBCCDDEEFF");
  const Bytes record = hex("010101000000005F75E9664000000001000013886955B900AB9F3B9460AAE853");
  EXPECT_EQ(toHex(commands::proveRecord(1, nonce)), "008801011000112233445566778899AABBCCDDEEFF00");
  const Bytes message = deliveryProofMessage(kCardNumber, 1, record, nonce);
  EXPECT_EQ(toHex(message),
            "4B494F534B2D434152442D44454C49564552592D7631001E8DA78911800101"
            "010101000000005F75E9664000000001000013886955B900AB9F3B9460AAE853"
            "00112233445566778899AABBCCDDEEFF");
  const EcKey cardPublic = EcKey::fromPublicPoint(loadKey(kCardPem).publicPoint()).value();
  const Bytes signature = hex("3045022073C2AD224615F5A5DB754E596135EEEB60B7260D45A41FE8F305E66E3B5895E4"
                              "02210081F55DD7CDA291242118F0340A3B7157F82EB620D6458B8C622500884BD09356");
  EXPECT_TRUE(cardPublic.verify(message, signature));
  EXPECT_FALSE(cardPublic.verify(deliveryProofMessage(kCardNumber, 2, record, nonce), signature));
}

TEST(Vectors, ReadApdus) {
  EXPECT_EQ(toHex(commands::selectAid()), "00A4040C08F04B494F534B0102");
  EXPECT_EQ(toHex(commands::readBinary(profile::kSfiId)), "00B0810000");
  EXPECT_EQ(toHex(commands::readAllRecords(profile::kSfiCredit)), "00B2011500");
  EXPECT_EQ(toHex(commands::readBinary(profile::kSfiReturn)), "00B0830000");
  EXPECT_EQ(toHex(commands::readBinary(profile::kSfiParams)), "00B0840000");
  EXPECT_EQ(toHex(commands::getChallenge()), "0084000008");
}

}  // namespace
}  // namespace kiosk::card
