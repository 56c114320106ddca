// The card profile end to end through real pcscd and vpcd: the virtual card is served on
// vpcd's socket, the kiosk side reads and writes it with PcscChannel, and the virtual meter
// loads its tokens through PC/SC too.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "../card/fixtures.hpp"
#include "card/apdu.hpp"
#include "card/card_reader.hpp"
#include "card/pcsc/pcsc_channel.hpp"
#include "card/virtual_meter.hpp"
#include "card/vpcd/vpcd_link.hpp"
#include "card/write_script.hpp"
#include "tests/support/pcscd_server.hpp"
#include "tests/support/test_card.hpp"

namespace kiosk::card::test {
namespace {

using namespace std::chrono_literals;

class CardSessionTest : public ::testing::Test {
 protected:
  void SetUp() override { server.start(); }
  void TearDown() override {
    if (HasFailure()) std::cerr << "pcscd log:\n" << server.logTail();
    channel.reset();
    link.pull();
    server.stop();
  }

  // Puts `emulator` in slot 0 and opens a channel to it once pcscd has seen it.
  void insert(CardEmulator& emulator) {
    link.pull();
    link.emplace(emulator);
    reinsert();
  }
  // The same card back in the reader (after a pull or a tear), with a fresh channel. pcscd
  // must see the slot empty first, or it would take the new insertion for the old card.
  void reinsert() {
    channel.reset();
    link.get().pull();
    ASSERT_TRUE(server.waitCard(0, false, 5s));
    link.get().insert();
    ASSERT_TRUE(server.waitCard(0, true, 5s));
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      auto connected = PcscChannel::connect(server.reader(0));
      if (connected) {
        channel = std::move(*connected);
        return;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << describe(connected.error());
      std::this_thread::sleep_for(25ms);
    }
  }

  // What the cloud does for a kiosk: a script for the token and the card's fresh challenge.
  static WriteScript scriptFor(const CreditToken& token, ByteView challenge) {
    return buildCreditWriteScript(kSmMaster, kCardNumber, challenge, token,
                                  creditRecordFor(token.sequence))
        .value();
  }
  // GET CHALLENGE, then the script: the token write as the kiosk relays it.
  static Result<void, CardError> writeToken(CardReader& reader, const CreditToken& token) {
    auto challenge = reader.getChallenge();
    if (!challenge) return fail(challenge.error());
    return reader.runScript(scriptFor(token, *challenge));
  }

  // A VpcdLink that can be rebuilt for another card.
  struct LinkSlot {
    PcscdServer& server;
    std::unique_ptr<VpcdLink> link;
    void emplace(CardEmulator& emulator) {
      link = std::make_unique<VpcdLink>(emulator, server.link(0));
    }
    VpcdLink& get() { return *link; }
    void pull() {
      if (link) link->pull();
    }
  };

  PcscdServer& server = PcscdServer::instance();
  EcKey issuer = loadKey(kIssuerPem).publicOnly();
  // Cards outlive the link that serves them (members are destroyed in reverse order).
  VirtualCard card{standardCard()};
  TestCard foreign;  // another application: SELECT of the profile's AID answers 6A82
  std::optional<VirtualCard> cloned;
  LinkSlot link{server, nullptr};
  std::unique_ptr<PcscChannel> channel;
};

TEST_F(CardSessionTest, ReadsAndAuthenticatesInFiveApdus) {
  insert(card);
  CardReader reader(*channel, issuer);
  auto snapshot = reader.read();
  ASSERT_TRUE(snapshot) << describe(snapshot.error());
  EXPECT_EQ(snapshot->id.cardNumber, kCardNumber);
  EXPECT_EQ(snapshot->id.meterNumber, kMeterNumber);
  EXPECT_EQ(snapshot->id.accountNumber, kAccount);
  EXPECT_EQ(snapshot->freeRecords, 8U);
  EXPECT_EQ(channel->exchanges(), 5U);  // no GET RESPONSE, no resend on the way
}

TEST_F(CardSessionTest, WritesATokenInThreeApdusAndReadsItBack) {
  insert(card);
  CardReader reader(*channel, issuer);
  ASSERT_TRUE(reader.read());
  const auto before = channel->exchanges();
  const CreditToken token = mintedToken(1, 5000);
  auto written = writeToken(reader, token);
  ASSERT_TRUE(written) << describe(written.error());
  EXPECT_EQ(channel->exchanges() - before, 3U);

  // Pulled and read again at another moment: the token is there.
  reinsert();
  CardReader again(*channel, issuer);
  auto snapshot = again.read();
  ASSERT_TRUE(snapshot);
  ASSERT_EQ(snapshot->credits.size(), 1U);
  EXPECT_EQ(snapshot->credits[0], token);
}

// The write's transaction is held from GET CHALLENGE to the read-back, across the cloud's
// work on the script: another application's SELECT (which would discard the single-use
// challenge) waits until the write is done, then goes through.
TEST_F(CardSessionTest, AnotherApplicationWaitsForTheWholeWrite) {
  insert(card);
  auto other = PcscChannel::connect(server.reader(0));
  ASSERT_TRUE(other) << describe(other.error());
  CardReader reader(*channel, issuer);
  ASSERT_TRUE(reader.read());
  const CreditToken token = mintedToken(1, 5000);
  auto challenge = reader.getChallenge();
  ASSERT_TRUE(challenge) << describe(challenge.error());

  std::atomic<bool> answered{false};
  Result<Bytes, CardError> intruding = fail(CardError::Transport);
  std::thread application([&] {
    intruding = (*other)->transmit(commands::selectAid());
    answered = true;
  });
  std::this_thread::sleep_for(300ms);  // the cloud builds the script
  const bool answeredDuringWrite = answered;

  const auto before = channel->exchanges();
  auto written = reader.writeToken(scriptFor(token, *challenge), token);
  application.join();
  EXPECT_FALSE(answeredDuringWrite);
  ASSERT_TRUE(written) << describe(written.error());
  EXPECT_EQ(channel->exchanges() - before, 2U);
  ASSERT_TRUE(intruding) << describe(intruding.error());
  EXPECT_EQ(toHex(*intruding), "9000");
}

// A card pulled while its write waits for the script: pcscd drops the transaction with the
// card, so the card is usable at once when it comes back, and the first reader's late end of
// its transaction disturbs nothing.
TEST_F(CardSessionTest, PulledCardReleasesAWriteWaitingForItsScript) {
  insert(card);
  std::unique_ptr<PcscChannel> first = std::move(channel);
  CardReader waiting(*first, issuer);
  ASSERT_TRUE(waiting.read());
  ASSERT_TRUE(waiting.getChallenge());

  reinsert();  // connecting would wait for as long as the transaction were held
  CardReader kiosk(*channel, issuer);
  auto snapshot = kiosk.read();
  ASSERT_TRUE(snapshot) << describe(snapshot.error());
  waiting.abandonWrite();
  const CreditToken token = mintedToken(1, 5000);
  auto challenge = kiosk.getChallenge();
  ASSERT_TRUE(challenge) << describe(challenge.error());
  ASSERT_TRUE(kiosk.writeToken(scriptFor(token, *challenge), token));
}

TEST_F(CardSessionTest, ForeignCardIsReportedAsSuch) {
  insert(foreign);
  CardReader reader(*channel, issuer);
  auto snapshot = reader.read();
  ASSERT_FALSE(snapshot);
  EXPECT_EQ(snapshot.error(), CardError::ForeignCard);
}

TEST_F(CardSessionTest, ClonedIdFileWithAnotherKeyIsNotAuthentic) {
  CardImage clone = card.image();
  clone.cardPrivateKey = loadKey(kOtherPem).privateScalar();
  cloned.emplace(clone);
  insert(*cloned);
  CardReader reader(*channel, issuer);
  auto snapshot = reader.read();
  ASSERT_FALSE(snapshot);
  EXPECT_EQ(snapshot.error(), CardError::NotAuthentic);
}

TEST_F(CardSessionTest, MeterRefusesAForgedTokenMac) {
  insert(card);
  CardReader reader(*channel, issuer);
  ASSERT_TRUE(reader.read());
  CreditToken forged = mintedToken(1, 90000);
  forged.mac[0] ^= 0x01;  // minted without the vending key
  ASSERT_TRUE(writeToken(reader, forged));

  VirtualMeter meter(MeterConfig::fromVendingKey(kVendingKey, kMeterNumber, Utility::Electricity),
                     1767225600);
  reinsert();
  auto visit = meter.insertCard(*channel);
  ASSERT_TRUE(visit) << describe(visit.error());
  ASSERT_EQ(visit->tokens.size(), 1U);
  EXPECT_EQ(visit->tokens[0].verdict, TokenVerdict::ForgedMac);
  EXPECT_EQ(visit->loadedAmount, 0);
  EXPECT_EQ(meter.state().credit, 0);
  EXPECT_TRUE(meter.state().tamper);
}

TEST_F(CardSessionTest, MeterLoadsATokenOnceAndRefusesItsReplay) {
  insert(card);
  CardReader reader(*channel, issuer);
  ASSERT_TRUE(reader.read());
  const CreditToken token = mintedToken(1, 5000);
  ASSERT_TRUE(writeToken(reader, token));

  VirtualMeter meter(MeterConfig::fromVendingKey(kVendingKey, kMeterNumber, Utility::Electricity),
                     1767225600);
  reinsert();
  auto first = meter.insertCard(*channel);
  ASSERT_TRUE(first) << describe(first.error());
  EXPECT_EQ(first->loadedAmount, 5000);
  EXPECT_EQ(meter.state().credit, 5000);

  // The same token written to the card again (a replay) is not loaded twice.
  reinsert();
  CardReader kiosk(*channel, issuer);
  ASSERT_TRUE(kiosk.read());
  ASSERT_TRUE(writeToken(kiosk, token));
  reinsert();
  auto second = meter.insertCard(*channel);
  ASSERT_TRUE(second) << describe(second.error());
  ASSERT_EQ(second->tokens.size(), 1U);
  EXPECT_EQ(second->tokens[0].verdict, TokenVerdict::Replayed);
  EXPECT_EQ(second->loadedAmount, 0);
  EXPECT_EQ(meter.state().credit, 5000);
}

// The virtual card's own tear hook works through vpcd: the card leaves the field in the
// middle of the UPDATE, and the kiosk sees a removed card.
TEST_F(CardSessionTest, VirtualCardTearHookPullsTheCardThroughVpcd) {
  insert(card);
  CardReader reader(*channel, issuer);
  ASSERT_TRUE(reader.read());
  card.armTear(TearPoint::AfterCommit, profile::kInsUpdateRecord);
  auto written = writeToken(reader, mintedToken(1, 5000));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error(), CardError::Removed);
  EXPECT_TRUE(link.get().torn());
}

struct TearCase {
  std::size_t apdu;  // 0 GET CHALLENGE, 1 UPDATE RECORD, 2 READ RECORD (read-back)
  VpcdLink::TearPoint point;
};

void PrintTo(const TearCase& tear, std::ostream* out) {
  *out << "APDU " << tear.apdu
       << (tear.point == VpcdLink::TearPoint::BeforeProcess ? " before" : " after");
}

class TornWriteTest : public CardSessionTest, public ::testing::WithParamInterface<TearCase> {};

// The card is pulled at one APDU of the write, before or after the card executed it, then
// put back. The kiosk reads the card, rewrites the token if it is missing, and the meter then
// loads exactly the amount paid: no credit lost, none doubled.
TEST_P(TornWriteTest, NoLostAndNoDoubleCredit) {
  const TearCase tear = GetParam();
  insert(card);
  const CreditToken token = mintedToken(1, 5000);
  {
    CardReader reader(*channel, issuer);
    ASSERT_TRUE(reader.read());
    link.get().tearAt(link.get().apdus() + tear.apdu, tear.point);
    auto written = writeToken(reader, token);
    ASSERT_FALSE(written);
    EXPECT_EQ(written.error(), CardError::Removed);
    ASSERT_TRUE(link.get().waitTorn(1s));
  }
  const bool committed = tear.apdu > 1 || (tear.apdu == 1 && tear.point == VpcdLink::TearPoint::AfterProcess);

  reinsert();
  {
    CardReader reader(*channel, issuer);
    auto snapshot = reader.read();
    ASSERT_TRUE(snapshot) << describe(snapshot.error());
    EXPECT_EQ(snapshot->hasToken(token), committed);
    if (!snapshot->hasToken(token)) {
      auto rewritten = writeToken(reader, token);
      ASSERT_TRUE(rewritten) << describe(rewritten.error());
    }
    auto after = reader.read();
    ASSERT_TRUE(after);
    ASSERT_EQ(after->credits.size(), 1U);
    EXPECT_EQ(after->credits[0], token);
  }

  VirtualMeter meter(MeterConfig::fromVendingKey(kVendingKey, kMeterNumber, Utility::Electricity),
                     1767225600);
  reinsert();
  auto visit = meter.insertCard(*channel);
  ASSERT_TRUE(visit) << describe(visit.error());
  EXPECT_EQ(visit->loadedAmount, 5000);
  reinsert();
  auto again = meter.insertCard(*channel);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->loadedAmount, 0);
  EXPECT_EQ(meter.state().credit, 5000);
}

std::string tearName(const ::testing::TestParamInfo<TearCase>& info) {
  static const char* const kApdus[] = {"GetChallenge", "UpdateRecord", "ReadBack"};
  return std::string(kApdus[info.param.apdu]) +
         (info.param.point == VpcdLink::TearPoint::BeforeProcess ? "Before" : "After");
}

INSTANTIATE_TEST_SUITE_P(
    EveryApduOfAWrite, TornWriteTest,
    ::testing::Values(TearCase{0, VpcdLink::TearPoint::BeforeProcess},
                      TearCase{0, VpcdLink::TearPoint::AfterProcess},
                      TearCase{1, VpcdLink::TearPoint::BeforeProcess},
                      TearCase{1, VpcdLink::TearPoint::AfterProcess},
                      TearCase{2, VpcdLink::TearPoint::BeforeProcess},
                      TearCase{2, VpcdLink::TearPoint::AfterProcess}),
    tearName);

}  // namespace
}  // namespace kiosk::card::test
