// The card profile seam (card/card_profile.hpp) with the open profile behind it, in process
// over the local channel: what the kiosk's card port asks of any profile.
#include <gtest/gtest.h>

#include <memory>

#include "card/card_profile.hpp"
#include "card/local_channel.hpp"
#include "card/open_profile.hpp"
#include "card/virtual_meter.hpp"
#include "card/write_script.hpp"
#include "fixtures.hpp"

namespace kiosk::card {
namespace {

using namespace test;

constexpr std::int64_t kStart = 1767225600;  // 2026-01-01T00:00:00Z

class ProfileTest : public ::testing::Test {
 protected:
  ProfileTest()
      : profile(std::make_unique<OpenProfile>(loadKey(kIssuerPem).publicOnly())),
        card(standardCard()),
        channel(card) {}

  // What the cloud builds for the card's fresh challenge.
  static WriteScript scriptFor(const CreditToken& token, ByteView challenge,
                               std::uint64_t cardNumber = kCardNumber) {
    return buildCreditWriteScript(kSmMaster, cardNumber, challenge, token,
                                  creditRecordFor(token.sequence))
        .value();
  }

  // Only the interface: a kiosk does not know which profile it talks to.
  std::unique_ptr<CardProfile> profile;
  VirtualCard card;
  LocalChannel channel;
};

TEST_F(ProfileTest, ReadsTheFactsOfAVirtualCard) {
  auto session = profile->open(channel);
  auto facts = session->readFacts();
  ASSERT_TRUE(facts) << describe(facts.error());
  EXPECT_EQ(facts->id.cardNumber, kCardNumber);
  EXPECT_EQ(facts->id.meterNumber, kMeterNumber);
  EXPECT_EQ(facts->id.accountNumber, kAccount);
  EXPECT_EQ(facts->id.kind, CardKind::Resident);
  EXPECT_TRUE(facts->credits.empty());
  EXPECT_EQ(facts->freeRecords, profile::kCreditRecords);
  EXPECT_FALSE(facts->meterReturn.has_value());
  EXPECT_EQ(session->apdus(), 5U);
  EXPECT_EQ(channel.transmitted(), 5U);
}

TEST_F(ProfileTest, WritesAndFindsATokenThenSeesWhatTheMeterWroteBack) {
  auto session = profile->open(channel);
  auto facts = session->readFacts();
  ASSERT_TRUE(facts) << describe(facts.error());
  const CreditToken token = mintedToken(1, 5000);
  auto notYet = session->findToken(token);
  ASSERT_TRUE(notYet) << describe(notYet.error());
  EXPECT_FALSE(*notYet);

  auto challenge = session->challenge();
  ASSERT_TRUE(challenge) << describe(challenge.error());
  const WriteScript script = scriptFor(token, *challenge);
  auto checked = profile->checkScript(script, *facts);
  ASSERT_TRUE(checked) << checked.error();
  ASSERT_TRUE(session->runScript(script));
  auto found = session->findToken(token);
  ASSERT_TRUE(found) << describe(found.error());
  EXPECT_TRUE(*found);
  auto other = session->findToken(mintedToken(2, 5000));
  ASSERT_TRUE(other);
  EXPECT_FALSE(*other);

  auto after = session->readFacts();
  ASSERT_TRUE(after) << describe(after.error());
  ASSERT_EQ(after->credits.size(), 1U);
  EXPECT_EQ(after->credits[0], token);
  EXPECT_EQ(after->freeRecords, profile::kCreditRecords - 1);

  // The meter loads the token and writes RETURN: the next read shows it, and the token gone.
  VirtualMeter meter(MeterConfig::fromVendingKey(kVendingKey, kMeterNumber, Utility::Electricity),
                     kStart);
  ASSERT_TRUE(meter.insertCard(card));
  channel.insert();
  auto fresh = profile->open(channel);
  auto visited = fresh->readFacts();
  ASSERT_TRUE(visited) << describe(visited.error());
  EXPECT_TRUE(visited->credits.empty());
  ASSERT_TRUE(visited->meterReturn.has_value());
  EXPECT_EQ(visited->meterReturn->meterNumber, kMeterNumber);
  EXPECT_EQ(visited->meterReturn->lastSequence, 1U);
  EXPECT_EQ(visited->meterReturn->remainingCredit, 5000);
  auto loaded = fresh->findToken(token);
  ASSERT_TRUE(loaded);
  EXPECT_FALSE(*loaded);
}

TEST_F(ProfileTest, ChecksAScriptAgainstTheCard) {
  auto session = profile->open(channel);
  auto facts = session->readFacts();
  ASSERT_TRUE(facts) << describe(facts.error());
  const Bytes challenge = hex("0102030405060708");
  EXPECT_TRUE(profile->checkScript(scriptFor(mintedToken(3, 2000), challenge), *facts));

  // A token for another meter, or for the other utility, is not for this card.
  CreditToken otherMeter = tokenFields(3, 2000);
  otherMeter.meterNumber = kMeterNumber + 1;
  auto wrongMeter = profile->checkScript(
      scriptFor(mintToken(kVendingKey, otherMeter).value(), challenge), *facts);
  ASSERT_FALSE(wrongMeter);
  EXPECT_NE(wrongMeter.error().find("meter"), std::string::npos) << wrongMeter.error();
  CreditToken water = tokenFields(3, 2000);
  water.utility = Utility::Water;
  EXPECT_FALSE(profile->checkScript(scriptFor(mintToken(kVendingKey, water).value(), challenge),
                                    *facts));

  // Anything beside the token's write and read-back, or in their place.
  WriteScript extra = scriptFor(mintedToken(3, 2000), challenge);
  auto params = buildParamsWriteScript(kSmMaster, kCardNumber, challenge, standardParams());
  ASSERT_TRUE(params);
  extra.steps.push_back(params->steps[0]);
  EXPECT_FALSE(profile->checkScript(extra, *facts));
  EXPECT_FALSE(profile->checkScript(*params, *facts));
  EXPECT_FALSE(profile->checkScript(WriteScript{}, *facts));
  WriteScript noReadBack = scriptFor(mintedToken(3, 2000), challenge);
  noReadBack.steps[1].expectRecord.reset();
  EXPECT_FALSE(profile->checkScript(noReadBack, *facts));
}

}  // namespace
}  // namespace kiosk::card
