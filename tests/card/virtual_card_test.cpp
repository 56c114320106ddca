#include <gtest/gtest.h>

#include "card/apdu.hpp"
#include "card/write_script.hpp"
#include "fixtures.hpp"

namespace kiosk::card {
namespace {

using namespace test;

class VirtualCardTest : public ::testing::Test {
 protected:
  VirtualCardTest() : card(standardCard()) { card.powerOn(); }

  Response send(ByteView command) {
    const Bytes raw = card.process(command);
    auto response = parseResponse(raw);
    EXPECT_TRUE(response) << toHex(command);
    return response.value_or(Response{});
  }
  std::uint16_t status(ByteView command) { return send(command).sw; }
  void selectApp() { ASSERT_EQ(status(commands::selectAid()), sw::kOk); }
  Bytes challenge() {
    const Response r = send(commands::getChallenge());
    EXPECT_EQ(r.sw, sw::kOk);
    EXPECT_EQ(r.data.size(), profile::kChallengeSize);
    return r.data;
  }
  Bytes smUpdateRecord(ByteView chal, std::uint8_t record, ByteView data) {
    return buildSmCommand(card.image().smKey, chal, profile::kInsUpdateRecord, record,
                          static_cast<std::uint8_t>((profile::kSfiCredit << 3) | 4), data)
        .value();
  }

  VirtualCard card;
};

TEST_F(VirtualCardTest, SelectsOnlyItsOwnAid) {
  EXPECT_EQ(status(hex("00A4040C08A000000003101001")), sw::kFileNotFound);
  EXPECT_EQ(status(commands::readBinary(profile::kSfiId)), sw::kFileNotFound);
  selectApp();
  const Response fci = send(hex("00A4040008F04B494F534B010200"));
  EXPECT_EQ(fci.sw, sw::kOk);
  EXPECT_EQ(toHex(fci.data), "6F0A8408F04B494F534B0102");
}

TEST_F(VirtualCardTest, UnknownClassInstructionAndFiles) {
  selectApp();
  EXPECT_EQ(status(hex("80B0810000")), sw::kClaNotSupported);
  EXPECT_EQ(status(hex("00EE000000")), sw::kInsNotSupported);
  EXPECT_EQ(status(hex("00B0850000")), sw::kFileNotFound);       // SFI 5 does not exist
  EXPECT_EQ(status(hex("00A4020C020109")), sw::kFileNotFound);   // FID 0109
  EXPECT_EQ(status(hex("00A404")), sw::kWrongLength);            // not an APDU
  EXPECT_EQ(status(hex("00B08100")), sw::kWrongLength);          // READ BINARY without Le
  EXPECT_EQ(status(hex("0084000004")), sw::kWrongLength);        // challenge of 4 bytes
  EXPECT_EQ(status(hex("00880000040102030400")), sw::kWrongLength);
}

TEST_F(VirtualCardTest, ReadsFilesBySfiAndByFid) {
  selectApp();
  const Response id = send(commands::readBinary(profile::kSfiId));
  EXPECT_EQ(id.sw, sw::kOk);
  EXPECT_EQ(id.data, card.image().id);
  EXPECT_EQ(status(hex("00B0000000")), sw::kOk);  // current EF is now ID
  ASSERT_EQ(status(hex("00A4020C020104")), sw::kOk);  // PARAMS by FID
  const Response params = send(hex("00B0000004"));
  EXPECT_EQ(params.sw, sw::kOk);
  EXPECT_EQ(params.data, Bytes(card.image().params.begin(), card.image().params.begin() + 4));
}

TEST_F(VirtualCardTest, ReadBinaryPastTheEndWarnsAndOffsetsOutsideFail) {
  selectApp();
  const Response tail = send(hex("00B0843010"));  // PARAMS offset 0x30: outside (24 bytes)
  EXPECT_EQ(tail.sw, sw::kWrongOffset);
  const Response partial = send(hex("00B0841010"));  // offset 16, 16 asked, 8 there
  EXPECT_EQ(partial.sw, sw::kEndOfFile);
  EXPECT_EQ(partial.data.size(), 8U);
  EXPECT_EQ(status(hex("00B0820000")), sw::kCommandNotAllowed);  // CREDIT is a record file
}

TEST_F(VirtualCardTest, RecordsOneOrAll) {
  selectApp();
  const Response all = send(commands::readAllRecords(profile::kSfiCredit));
  EXPECT_EQ(all.sw, sw::kOk);
  EXPECT_EQ(all.data.size(), 256U);
  const Response one = send(commands::readRecord(profile::kSfiCredit, 3));
  EXPECT_EQ(one.sw, sw::kOk);
  EXPECT_EQ(one.data.size(), 32U);
  EXPECT_EQ(status(commands::readRecord(profile::kSfiCredit, 9)), sw::kRecordNotFound);
  EXPECT_EQ(status(commands::readRecord(profile::kSfiCredit, 0)), sw::kWrongP1P2);
  EXPECT_EQ(status(commands::readRecord(profile::kSfiId, 1)), sw::kCommandNotAllowed);
  EXPECT_EQ(status(hex("00B20115" "20")), 0x6C00);  // Le 32 for 256 bytes: 6Cxx with 00
}

TEST_F(VirtualCardTest, SecureMessagingWriteNeedsAFreshChallengeAndTheRightMac) {
  selectApp();
  const Bytes token = encodeToken(mintedToken(1, 5000));
  // Plain write of a token: security status not satisfied.
  EXPECT_EQ(status(commands::updateRecordPlain(profile::kSfiCredit, 1, token)),
            sw::kSecurityStatus);
  // SM without a challenge: security status.
  EXPECT_EQ(status(smUpdateRecord(hex("0000000000000000"), 1, token)), sw::kSecurityStatus);
  // Wrong MAC (a challenge that is not the card's): SM data objects incorrect.
  (void)challenge();
  EXPECT_EQ(status(smUpdateRecord(hex("0000000000000000"), 1, token)), sw::kSmDataIncorrect);
  // Right MAC: stored.
  Bytes chal = challenge();
  const Bytes command = smUpdateRecord(chal, 1, token);
  EXPECT_EQ(status(command), sw::kOk);
  EXPECT_EQ(card.image().credit[0], token);
  // The challenge was single-use: the same command again is refused.
  EXPECT_EQ(status(command), sw::kSecurityStatus);
  // A MAC for another card's key fails.
  chal = challenge();
  const SymKey otherKey = deriveCardSmKey(kSmMaster, kCardNumber + 1);
  const Bytes foreign =
      buildSmCommand(otherKey, chal, profile::kInsUpdateRecord, 2, (profile::kSfiCredit << 3) | 4,
                     encodeToken(mintedToken(2, 100)))
          .value();
  EXPECT_EQ(status(foreign), sw::kSmDataIncorrect);
  EXPECT_EQ(card.image().credit[1], Bytes(32, 0));
}

TEST_F(VirtualCardTest, TheSameTokenIsKeptOnceAndAFullSlotIsRefused) {
  selectApp();
  const Bytes token = encodeToken(mintedToken(1, 5000));
  ASSERT_EQ(status(smUpdateRecord(challenge(), 1, token)), sw::kOk);
  ASSERT_EQ(status(smUpdateRecord(challenge(), 1, token)), sw::kOk);  // again: harmless
  ASSERT_EQ(status(smUpdateRecord(challenge(), 5, token)), sw::kOk);  // other record: kept once
  EXPECT_EQ(card.image().credit[4], Bytes(32, 0));
  // Token 9 maps to record 1, still holding token 1 (not loaded): the ring is full there.
  EXPECT_EQ(status(smUpdateRecord(challenge(), 1, encodeToken(mintedToken(9, 100)))),
            sw::kNotEnoughMemory);
  // Another token under an already used sequence is wrong data.
  EXPECT_EQ(status(smUpdateRecord(challenge(), 2, encodeToken(mintedToken(1, 7000)))),
            sw::kWrongData);
  // The meter frees the record without SM; then token 9 fits.
  EXPECT_EQ(status(commands::updateRecordPlain(profile::kSfiCredit, 1, Bytes(32, 0))), sw::kOk);
  EXPECT_EQ(status(smUpdateRecord(challenge(), 1, encodeToken(mintedToken(9, 100)))), sw::kOk);
  // Wrong record size.
  EXPECT_EQ(status(smUpdateRecord(challenge(), 2, Bytes(31, 1))), sw::kWrongLength);
}

TEST_F(VirtualCardTest, IdIsReadOnlyParamsNeedSmReturnIsFree) {
  selectApp();
  EXPECT_EQ(status(commands::updateBinaryPlain(profile::kSfiId, 0, hex("00"))),
            sw::kSecurityStatus);
  Params cheaper = standardParams();
  cheaper.pricePerUnit = 1;
  EXPECT_EQ(status(commands::updateBinaryPlain(profile::kSfiParams, 0, encodeParams(cheaper))),
            sw::kSecurityStatus);
  const auto script = buildParamsWriteScript(kSmMaster, kCardNumber, challenge(), cheaper).value();
  EXPECT_EQ(status(script.steps[0].apdu), sw::kOk);
  EXPECT_EQ(decodeParams(card.image().params).value(), cheaper);
  EXPECT_EQ(status(commands::updateBinaryPlain(profile::kSfiReturn, 0, Bytes(52, 0))), sw::kOk);
  EXPECT_EQ(status(commands::updateBinaryPlain(profile::kSfiReturn, 40, Bytes(13, 0))),
            sw::kWrongLength);
}

TEST_F(VirtualCardTest, InternalAuthenticateSignsWithTheCardKey) {
  selectApp();
  const Bytes chal = hex("00112233445566778899AABBCCDDEEFF");
  const Response r = send(commands::internalAuthenticate(chal));
  ASSERT_EQ(r.sw, sw::kOk);
  const EcKey cardPublic = loadKey(kCardPem).publicOnly();
  EXPECT_TRUE(cardPublic.verify(internalAuthMessage(kCardNumber, chal), r.data));
  // Domain separation: the same signature is not valid for the bare challenge.
  EXPECT_FALSE(cardPublic.verify(chal, r.data));
  EXPECT_EQ(status(commands::internalAuthenticate(hex("0102"))), sw::kWrongLength);
}

// The delivery proof signs the CREDIT record as the card holds it: the kiosk names the record
// and passes the cloud's nonce, and cannot choose what is signed.
TEST_F(VirtualCardTest, DeliveryProofSignsTheRecordAsTheCardHoldsIt) {
  const Bytes nonce = hex("00112233445566778899AABBCCDDEEFF");
  EXPECT_EQ(status(commands::proveRecord(1, nonce)), sw::kConditionsNotSatisfied);  // not selected
  selectApp();
  const Bytes token = encodeToken(mintToken(kVendingKey, {Utility::Electricity, 1, kMeterNumber, 3, 5000,
                                                          1767225600, {}}).value());
  const std::uint8_t record = creditRecordFor(3);
  card.image().credit[record - 1] = token;
  const EcKey cardPublic = loadKey(kCardPem).publicOnly();
  const Response proof = send(commands::proveRecord(record, nonce));
  ASSERT_EQ(proof.sw, sw::kOk);
  EXPECT_TRUE(cardPublic.verify(deliveryProofMessage(kCardNumber, record, token, nonce), proof.data));
  EXPECT_FALSE(cardPublic.verify(internalAuthMessage(kCardNumber, nonce), proof.data));

  // Another record: signed as it is (empty), so it proves nothing about the token.
  const Response empty = send(commands::proveRecord(record + 1, nonce));
  ASSERT_EQ(empty.sw, sw::kOk);
  EXPECT_FALSE(cardPublic.verify(deliveryProofMessage(kCardNumber, record + 1, token, nonce), empty.data));
  EXPECT_TRUE(cardPublic.verify(deliveryProofMessage(kCardNumber, record + 1, Bytes(32, 0), nonce), empty.data));

  EXPECT_EQ(status(commands::proveRecord(0, nonce)), sw::kRecordNotFound);
  EXPECT_EQ(status(commands::proveRecord(9, nonce)), sw::kRecordNotFound);
  EXPECT_EQ(status(commands::proveRecord(1, hex("0011223344556677"))), sw::kWrongLength);
  EXPECT_EQ(status(encodeApdu({0x00, profile::kInsInternalAuthenticate, 0x02, 0x01, nonce, std::uint16_t{256}}).value()),
            sw::kWrongP1P2);
}

// The card keeps its parsed key between authentications, but an image edited in place (a
// re-personalised card) signs with its new key, and an image without a usable key refuses.
TEST_F(VirtualCardTest, InternalAuthenticateFollowsTheKeyInTheImage) {
  selectApp();
  const Bytes chal = hex("00112233445566778899AABBCCDDEEFF");
  const EcKey cardPublic = loadKey(kCardPem).publicOnly();
  const EcKey other = loadKey(kOtherPem);
  ASSERT_TRUE(cardPublic.verify(internalAuthMessage(kCardNumber, chal),
                                send(commands::internalAuthenticate(chal)).data));

  IdFile id = decodeIdFile(card.image().id).value();
  id.cardPublicKey = other.publicPoint();
  card.image().id = encodeIdFile(id).value();
  card.image().cardPrivateKey = other.privateScalar();
  const Response resigned = send(commands::internalAuthenticate(chal));
  ASSERT_EQ(resigned.sw, sw::kOk);
  EXPECT_TRUE(other.verify(internalAuthMessage(kCardNumber, chal), resigned.data));
  EXPECT_FALSE(cardPublic.verify(internalAuthMessage(kCardNumber, chal), resigned.data));

  card.image().cardPrivateKey = loadKey(kCardPem).privateScalar();  // no longer the ID's key
  EXPECT_EQ(status(commands::internalAuthenticate(chal)), sw::kConditionsNotSatisfied);
}

TEST_F(VirtualCardTest, PowerCycleLosesSelectionAndChallenge) {
  selectApp();
  const Bytes chal = challenge();
  card.powerOff();
  card.powerOn();
  EXPECT_EQ(status(commands::readBinary(profile::kSfiId)), sw::kFileNotFound);
  selectApp();
  EXPECT_EQ(status(smUpdateRecord(chal, 1, encodeToken(mintedToken(1, 1)))),
            sw::kSecurityStatus);
}

TEST_F(VirtualCardTest, TearBeforeCommitKeepsTheOldStateAfterCommitTheNew) {
  selectApp();
  const Bytes token = encodeToken(mintedToken(1, 5000));
  card.armTear(TearPoint::BeforeCommit);
  EXPECT_TRUE(card.process(smUpdateRecord(challenge(), 1, token)).empty());
  EXPECT_EQ(card.image().credit[0], Bytes(32, 0));
  EXPECT_FALSE(card.tearArmed());
  card.powerOn();
  selectApp();
  card.armTear(TearPoint::AfterCommit, profile::kInsUpdateRecord);
  EXPECT_TRUE(card.process(smUpdateRecord(challenge(), 1, token)).empty());
  EXPECT_EQ(card.image().credit[0], token);
}

TEST_F(VirtualCardTest, CommitCallbackSeesEveryChange) {
  int commits = 0;
  card.onCommit([&](const CardImage&) { ++commits; });
  selectApp();
  ASSERT_EQ(status(smUpdateRecord(challenge(), 1, encodeToken(mintedToken(1, 5))) ), sw::kOk);
  EXPECT_EQ(commits, 1);
}

}  // namespace
}  // namespace kiosk::card
