#include <gtest/gtest.h>

#include "card/card_reader.hpp"
#include "card/virtual_meter.hpp"
#include "card/write_script.hpp"
#include "fixtures.hpp"

namespace kiosk::card {
namespace {

using namespace test;

constexpr std::int64_t kStart = 1767225600;  // 2026-01-01T00:00:00Z

class MeterTest : public ::testing::Test {
 protected:
  MeterTest()
      : issuer(loadKey(kIssuerPem).publicOnly()),
        card(standardCard()),
        meter(MeterConfig::fromVendingKey(kVendingKey, kMeterNumber, Utility::Electricity),
              kStart) {}

  // A kiosk writes `token` onto the card the way the cloud's script does.
  void buy(const CreditToken& token) {
    LocalChannel channel(card);
    CardReader reader(channel, issuer);
    ASSERT_TRUE(reader.read());
    auto challenge = reader.getChallenge();
    ASSERT_TRUE(challenge);
    auto script = buildCreditWriteScript(kSmMaster, kCardNumber, *challenge, token,
                                         creditRecordFor(token.sequence));
    ASSERT_TRUE(script);
    ASSERT_TRUE(reader.runScript(*script));
  }

  MeterVisit visit() {
    auto result = meter.insertCard(card);
    EXPECT_TRUE(result) << describe(result.error());
    return result ? std::move(result).value() : MeterVisit{};
  }

  std::size_t tokensOnCard() {
    std::size_t count = 0;
    for (const Bytes& record : card.image().credit) {
      if (decodeTokenRecord(record).value().has_value()) ++count;
    }
    return count;
  }

  EcKey issuer;
  VirtualCard card;
  VirtualMeter meter;
};

TEST_F(MeterTest, LoadsAValidTokenOnceFreesTheRecordAndWritesReturn) {
  buy(mintedToken(1, 5000));
  const MeterVisit first = visit();
  ASSERT_EQ(first.tokens.size(), 1U);
  EXPECT_EQ(first.tokens[0].verdict, TokenVerdict::Loaded);
  EXPECT_EQ(first.loadedAmount, 5000);
  EXPECT_EQ(meter.state().credit, 5000);
  EXPECT_EQ(meter.state().lastSequence, 1U);
  EXPECT_EQ(tokensOnCard(), 0U);

  // RETURN on the card, sealed with the meter's key, which the cloud can check.
  const ReturnRecord onCard = decodeReturn(card.image().meterReturn).value();
  EXPECT_EQ(onCard, first.written);
  EXPECT_EQ(onCard.remainingCredit, 5000);
  EXPECT_EQ(onCard.lastSequence, 1U);
  EXPECT_EQ(onCard.meterNumber, kMeterNumber);
  EXPECT_EQ(onCard.timestamp, kStart);
  EXPECT_TRUE(verifyReturn(onCard, deriveReturnKey(kVendingKey, kMeterNumber, 1)));
  ReturnRecord edited = onCard;
  edited.remainingCredit = 999999;
  EXPECT_FALSE(verifyReturn(edited, deriveReturnKey(kVendingKey, kMeterNumber, 1)));

  // The kiosk reads the meter's figures at the next visit.
  LocalChannel channel(card);
  CardReader reader(channel, issuer);
  EXPECT_EQ(reader.read()->meterReturn.value(), onCard);

  const MeterVisit second = visit();
  EXPECT_TRUE(second.tokens.empty());
  EXPECT_EQ(meter.state().credit, 5000);
}

TEST_F(MeterTest, ForgedTokenMacIsRejectedAndReported) {
  CreditToken forged = mintedToken(1, 5000);
  forged.amount = 500000;  // edited after minting: the MAC no longer matches
  buy(forged);
  // A token minted with someone else's vending key.
  SymKey otherVending = kVendingKey;
  otherVending[0] ^= 0xFF;
  buy(mintToken(otherVending, tokenFields(2, 100)).value());
  const MeterVisit v = visit();
  ASSERT_EQ(v.tokens.size(), 2U);
  EXPECT_EQ(v.tokens[0].verdict, TokenVerdict::ForgedMac);
  EXPECT_EQ(v.tokens[1].verdict, TokenVerdict::ForgedMac);
  EXPECT_EQ(v.loadedAmount, 0);
  EXPECT_EQ(meter.state().credit, 0);
  EXPECT_TRUE(meter.state().tamper);
  EXPECT_TRUE(v.written.tamper());
  EXPECT_EQ(tokensOnCard(), 2U);  // left for the operator to see
}

TEST_F(MeterTest, ReplayedTokenIsNotLoadedAgain) {
  const CreditToken token = mintedToken(1, 5000);
  buy(token);
  (void)visit();
  ASSERT_EQ(meter.state().credit, 5000);
  // The same token written again (an old script replayed, or a copy of the card's earlier
  // contents): the meter has loaded sequence 1 already.
  buy(token);
  const MeterVisit v = visit();
  ASSERT_EQ(v.tokens.size(), 1U);
  EXPECT_EQ(v.tokens[0].verdict, TokenVerdict::Replayed);
  EXPECT_EQ(meter.state().credit, 5000);
  EXPECT_EQ(tokensOnCard(), 0U);
  // An older sequence after a newer one is a replay too.
  buy(mintedToken(3, 100));
  (void)visit();
  buy(mintedToken(2, 100));
  EXPECT_EQ(visit().tokens[0].verdict, TokenVerdict::Replayed);
  EXPECT_EQ(meter.state().credit, 5100);
}

TEST_F(MeterTest, TokensForAnotherMeterStayOnTheCard) {
  CreditToken other = tokenFields(1, 100);
  other.meterNumber = kMeterNumber + 1;
  buy(mintToken(kVendingKey, other).value());
  const MeterVisit v = visit();
  ASSERT_EQ(v.tokens.size(), 1U);
  EXPECT_EQ(v.tokens[0].verdict, TokenVerdict::WrongMeter);
  EXPECT_EQ(tokensOnCard(), 1U);
  EXPECT_EQ(meter.state().credit, 0);
}

TEST_F(MeterTest, SeveralTokensLoadInSequenceOrder) {
  buy(mintedToken(2, 200));
  buy(mintedToken(1, 100));
  buy(mintedToken(3, 300));
  const MeterVisit v = visit();
  ASSERT_EQ(v.tokens.size(), 3U);
  for (const auto& outcome : v.tokens) EXPECT_EQ(outcome.verdict, TokenVerdict::Loaded);
  EXPECT_EQ(meter.state().credit, 600);
  EXPECT_EQ(meter.state().lastSequence, 3U);
}

TEST_F(MeterTest, AlarmsCutOffAtTheOverdraftAndRestoreOnNewCredit) {
  buy(mintedToken(1, 5000));  // 50.00 at 0.60 per kWh; alarms 20.00 / 10.00 / 5.00; overdraft 3.00
  (void)visit();
  EXPECT_EQ(meter.state().alarmLevel, 0);
  meter.consume(50'000);  // 50 kWh = 30.00
  EXPECT_EQ(meter.state().credit, 2000);
  EXPECT_EQ(meter.state().alarmLevel, 1);
  meter.consume(16'667);  // 10.00 and a fraction carried
  EXPECT_EQ(meter.state().credit, 1000);
  EXPECT_EQ(meter.state().alarmLevel, 2);
  meter.consume(8'333);
  EXPECT_EQ(meter.state().credit, 500);
  EXPECT_EQ(meter.state().alarmLevel, 3);
  meter.consume(8'334);
  EXPECT_EQ(meter.state().credit, 0);
  EXPECT_FALSE(meter.state().cutOff);  // inside the overdraft
  meter.consume(5'000);
  EXPECT_EQ(meter.state().credit, -300);
  EXPECT_TRUE(meter.state().cutOff);
  const std::uint64_t consumed = meter.state().consumption;
  meter.consume(10'000);  // no supply, no consumption
  EXPECT_EQ(meter.state().consumption, consumed);
  EXPECT_EQ(meter.state().credit, -300);

  const MeterVisit cut = visit();
  EXPECT_TRUE(cut.written.cutOff());
  EXPECT_TRUE(cut.written.lowBalance());
  EXPECT_EQ(cut.written.alarmLevel, 3);
  EXPECT_EQ(cut.written.remainingCredit, -300);

  buy(mintedToken(2, 1000));
  const MeterVisit restored = visit();
  EXPECT_FALSE(meter.state().cutOff);
  EXPECT_EQ(meter.state().credit, 700);
  EXPECT_EQ(meter.state().alarmLevel, 2);
  EXPECT_FALSE(restored.written.cutOff());
}

TEST_F(MeterTest, SimulatedDaysChargeExactly) {
  buy(mintedToken(1, 5000));
  (void)visit();
  meter.run(86400, 1000);  // one day at 1 kWh per hour: 24 kWh = 14.40
  EXPECT_EQ(meter.state().credit, 5000 - 1440);
  EXPECT_EQ(meter.state().consumption, 24'000U);
  EXPECT_EQ(meter.state().now, kStart + 86400);
  meter.run(1800, 1000);  // half an hour
  EXPECT_EQ(meter.state().consumption, 24'500U);
  EXPECT_EQ(meter.state().credit, 5000 - 1470);
}

TEST_F(MeterTest, ForeignCardIsRefused) {
  CardImage blank = card.image();
  VirtualCard other(blank);
  // A card whose PARAMS are unreadable and a meter that has no tariff yet.
  other.image().params.assign(profile::kParamsSize, 0);
  auto result = meter.insertCard(other);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), CardError::BadData);
}

}  // namespace
}  // namespace kiosk::card
