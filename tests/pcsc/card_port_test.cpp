// The kiosk's card port on a real pcscd with vpcd: how it holds the card (exclusively, or
// shared with transactions when another application got there first) and that a token write
// is one transaction from GET CHALLENGE to the read-back.
#include "kiosk/card_port.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "../card/fixtures.hpp"
#include "card/apdu.hpp"
#include "card/pcsc/pcsc_channel.hpp"
#include "card/vpcd/vpcd_link.hpp"
#include "card/write_script.hpp"
#include "pcscd_server.hpp"

namespace kiosk::card::test {
namespace {

using namespace std::chrono_literals;

// Counts the transactions the port asks of a channel, and passes everything on.
class CountingChannel final : public CardChannel {
 public:
  CountingChannel(std::unique_ptr<PcscChannel> inner, int& begun, int& ended)
      : m_inner(std::move(inner)), m_begun(begun), m_ended(ended) {}
  Result<Bytes, CardError> transmit(ByteView command) override { return m_inner->transmit(command); }
  Result<void, CardError> beginTransaction() override {
    ++m_begun;
    return m_inner->beginTransaction();
  }
  Result<void, CardError> endTransaction() override {
    ++m_ended;
    return m_inner->endTransaction();
  }
  Bytes atr() const override { return m_inner->atr(); }

 private:
  std::unique_ptr<PcscChannel> m_inner;
  int& m_begun;
  int& m_ended;
};

class CardPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server.start();
    link.insert();
    ASSERT_TRUE(server.waitCard(0, true, 5s));
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "pcscd log:\n" << server.logTail();
    link.pull();
    server.stop();
  }
  // Another application's connection to the same card, as the port would make it.
  Result<std::unique_ptr<PcscChannel>, CardError> otherApplication(
      PcscChannel::Share share = PcscChannel::Share::Shared) {
    return PcscChannel::connect(server.reader(0), share);
  }
  static WriteScript scriptFor(const CreditToken& token, ByteView challenge) {
    return buildCreditWriteScript(kSmMaster, kCardNumber, challenge, token,
                                  creditRecordFor(token.sequence))
        .value();
  }

  PcscdServer& server = PcscdServer::instance();
  VirtualCard card{standardCard()};
  VpcdLink link{card, server.link(0)};
};

TEST_F(CardPortTest, KeepsTheCardToItselfUntilTheCardLeaves) {
  app::ReaderCardPort port(app::ReaderCardPort::pcsc(server.reader(0)), loadKey(kIssuerPem));
  auto facts = port.read();
  ASSERT_TRUE(facts) << describe(facts.error());
  EXPECT_EQ(facts->id.cardNumber, kCardNumber);
  EXPECT_EQ(port.apdus(), 5U);

  auto refused = otherApplication();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), CardError::Sharing);

  // A write and a read later, on the same connection.
  const CreditToken token = mintedToken(1, 5000);
  auto challenge = port.challenge();
  ASSERT_TRUE(challenge) << describe(challenge.error());
  ASSERT_TRUE(port.run(scriptFor(token, *challenge)));
  auto again = port.read();
  ASSERT_TRUE(again) << describe(again.error());
  ASSERT_EQ(again->credits.size(), 1U);
  EXPECT_EQ(again->credits[0], token);
  EXPECT_EQ(port.apdus(), 5U + 3U + 5U);

  port.cardRemoved();  // the port lets go of the card with it
  auto admitted = otherApplication();
  ASSERT_TRUE(admitted) << describe(admitted.error());
}

TEST_F(CardPortTest, SharesTheCardWithAnApplicationAlreadyConnected) {
  auto other = otherApplication();
  ASSERT_TRUE(other) << describe(other.error());
  app::ReaderCardPort port(app::ReaderCardPort::pcsc(server.reader(0)), loadKey(kIssuerPem));
  auto facts = port.read();
  ASSERT_TRUE(facts) << describe(facts.error());
  EXPECT_EQ(facts->id.cardNumber, kCardNumber);
  // The other application still reaches the card between the kiosk's operations.
  auto selected = (*other)->transmit(commands::selectAid());
  ASSERT_TRUE(selected) << describe(selected.error());
  EXPECT_EQ(toHex(*selected), "9000");
}

TEST_F(CardPortTest, ASharedWriteIsOneTransactionFromChallengeToReadBack) {
  int begun = 0;
  int ended = 0;
  app::ReaderCardPort port(
      [&]() -> Result<std::unique_ptr<CardChannel>, CardError> {
        auto connected = PcscChannel::connect(server.reader(0), PcscChannel::Share::Shared);
        if (!connected) return fail(connected.error());
        return std::unique_ptr<CardChannel>(
            std::make_unique<CountingChannel>(std::move(*connected), begun, ended));
      },
      loadKey(kIssuerPem));
  ASSERT_TRUE(port.read());
  EXPECT_EQ(begun, 1);
  EXPECT_EQ(ended, 1);

  const CreditToken token = mintedToken(1, 5000);
  auto challenge = port.challenge();
  ASSERT_TRUE(challenge) << describe(challenge.error());
  EXPECT_EQ(begun, 2);
  EXPECT_EQ(ended, 1);  // held while the cloud builds the script
  ASSERT_TRUE(port.run(scriptFor(token, *challenge)));
  EXPECT_EQ(begun, 2);
  EXPECT_EQ(ended, 2);
  auto holds = port.holds(token);
  ASSERT_TRUE(holds) << describe(holds.error());
  EXPECT_TRUE(*holds);
}

}  // namespace
}  // namespace kiosk::card::test
