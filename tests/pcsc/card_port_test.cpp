// The kiosk's card port on a real pcscd with vpcd: it shares the card, each operation is a
// PC/SC transaction of its own, and it holds no lock between operations, so a kiosk killed
// between two of them leaves pcscd able to see and power the next card.
#include "kiosk/card_port.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "../card/fixtures.hpp"
#include "card/apdu.hpp"
#include "card/pcsc/pcsc_channel.hpp"
#include "card/vpcd/vpcd_link.hpp"
#include "card/write_script.hpp"
#include "tests/support/pcscd_server.hpp"

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

TEST_F(CardPortTest, HoldsNoLockBetweenOperations) {
  app::ReaderCardPort port(app::ReaderCardPort::pcsc(server.reader(0)), loadKey(kIssuerPem));
  auto facts = port.read();
  ASSERT_TRUE(facts) << describe(facts.error());
  EXPECT_EQ(facts->id.cardNumber, kCardNumber);
  EXPECT_EQ(port.apdus(), 5U);

  // pcscd refuses another application's exchange while someone holds the card (an exclusive
  // connection or an open transaction): this one goes through after a read...
  auto other = otherApplication();
  ASSERT_TRUE(other) << describe(other.error());
  const Bytes readId = commands::readBinary(profile::kSfiId);
  auto between = (*other)->transmit(readId);
  ASSERT_TRUE(between) << describe(between.error());

  // ...and between GET CHALLENGE and the script, while the cloud would be building it. READ
  // BINARY leaves the card's challenge alone, so the script still applies.
  const CreditToken token = mintedToken(1, 5000);
  auto challenge = port.challenge();
  ASSERT_TRUE(challenge) << describe(challenge.error());
  auto meanwhile = (*other)->transmit(readId);
  ASSERT_TRUE(meanwhile) << describe(meanwhile.error());
  ASSERT_TRUE(port.run(scriptFor(token, *challenge)));
  auto again = port.read();
  ASSERT_TRUE(again) << describe(again.error());
  ASSERT_EQ(again->credits.size(), 1U);
  EXPECT_EQ(again->credits[0], token);
  EXPECT_EQ(port.apdus(), 5U + 3U + 5U);
}

// A kiosk killed between two operations, with its card gone at the same moment (the vpcd card
// lived in the killed process), and the next card in the slot at once. pcscd resets the card
// of a client that dies holding a lock, and pcsc-lite 1.9.9 then marks the slot empty behind
// its presence poll: the next card, arriving before that poll, would be taken for the old one
// and never powered nor reported. Holding no lock between operations leaves nothing to reset,
// and the slot shows empty only once pcscd's own poll found the old card gone.
TEST_F(CardPortTest, AKioskKilledBetweenOperationsLeavesTheNextCardVisible) {
  link.pull();
  ASSERT_TRUE(server.waitCard(0, false, 5s));
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t kiosk = ::fork();
  ASSERT_GE(kiosk, 0);
  if (kiosk == 0) {
    // The killed kiosk: its own card in the slot, read and challenged, then it waits to die.
    ::close(ready[0]);
    VirtualCard its{standardCard()};
    VpcdLink slot{its, server.link(0)};
    slot.insert();
    if (!server.waitCard(0, true, 5s)) ::_exit(2);
    app::ReaderCardPort held(app::ReaderCardPort::pcsc(server.reader(0)), loadKey(kIssuerPem));
    if (!held.read() || !held.challenge()) ::_exit(3);
    const char done = 1;
    if (::write(ready[1], &done, 1) != 1) ::_exit(4);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char done = 0;
  const bool reached = ::read(ready[0], &done, 1) == 1;
  ::close(ready[0]);
  ::kill(kiosk, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(kiosk, &status, 0), kiosk);
  ASSERT_TRUE(reached) << "the kiosk process did not read its card (exit "
                       << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << ")";
  // What a restarted kiosk does before it takes the next card (kiosk --headless's insert):
  // wait until pcscd shows the slot empty, then put the card in.
  ASSERT_TRUE(server.waitCard(0, false, 5s));
  link.insert();
  ASSERT_TRUE(server.waitCard(0, true, 5s)) << "pcscd never saw the next card";
  app::ReaderCardPort port(app::ReaderCardPort::pcsc(server.reader(0)), loadKey(kIssuerPem));
  auto facts = port.read();
  ASSERT_TRUE(facts) << describe(facts.error());
  EXPECT_EQ(facts->id.cardNumber, kCardNumber);
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

// Every multi-APDU operation is a transaction of its own; GET CHALLENGE, one APDU, needs none
// (pcscd passes an APDU whole) and leaves nothing held while the cloud builds the script.
TEST_F(CardPortTest, EachMultiApduOperationIsATransactionOfItsOwn) {
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
  EXPECT_EQ(begun, 1);
  EXPECT_EQ(ended, 1);
  ASSERT_TRUE(port.run(scriptFor(token, *challenge)));
  EXPECT_EQ(begun, 2);
  EXPECT_EQ(ended, 2);
  auto holds = port.holds(token);
  ASSERT_TRUE(holds) << describe(holds.error());
  EXPECT_TRUE(*holds);
  EXPECT_EQ(begun, 3);
  EXPECT_EQ(ended, 3);
}

}  // namespace
}  // namespace kiosk::card::test
