// The kiosk in this process against a real kiosk-cloud and a virtual card on real pcscd:
// top-up, decline, expiry, cancel, late payment, pending credit at the next insertion, blocked
// cards, offline reading, and the card pulled at every APDU of the write.

#include <gtest/gtest.h>

#include <thread>

#include "kiosk_fixture.hpp"

namespace kiosk::e2e {
namespace {

TEST_F(KioskE2e, TopUpWritesOneTokenAndTheCloudConfirmsIt) {
  start();
  insertAndWaitAccount();
  const std::string order = orderOf(20);
  ASSERT_FALSE(order.empty());
  harness->pay(order);
  ASSERT_TRUE(kiosk->waitScreen("done", 20s)) << "screen " << kiosk->screen();
  const auto* done = std::get_if<app::screen::Done>(&kiosk->state().screen);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->view.creditMinor, 2000);

  const auto onCard = tokens();
  ASSERT_EQ(onCard.size(), 1U);
  EXPECT_EQ(onCard[0].amount, 2000U);
  EXPECT_EQ(harness->orderState(order), "DELIVERED");
  auto tx = journalOf(*kiosk)->byOrder(order);
  ASSERT_TRUE(tx && tx->has_value());
  EXPECT_EQ((*tx)->outcome, payments::Outcome::Delivered);
  auto steps = journalOf(*kiosk)->steps((*tx)->id);
  ASSERT_TRUE(steps);
  EXPECT_EQ(*steps, (std::vector<std::string>{"order_requested", "order_created", "qr_shown", "paid",
                                              "script_fetched", "apdu_sent", "read_back",
                                              "confirmed"}));
  // Every event reached the cloud, in order: the card read, each step of the transaction.
  EXPECT_TRUE(drainOutbox());
  expectBooks();
  const auto reads = cloudEvents(*harness, "card.read");
  ASSERT_FALSE(reads.empty());
  EXPECT_EQ(reads[0].value("card_number", ""), kWaterCard);
  const auto confirmed = cloudEvents(*harness, "tx.confirmed");
  ASSERT_EQ(confirmed.size(), 1U);
  EXPECT_EQ(confirmed[0].value("order_id", ""), order);
  EXPECT_EQ(confirmed[0].value("token_sequence", 0), static_cast<int>(onCard[0].sequence));
}

TEST_F(KioskE2e, DeclinedPaymentWritesNothing) {
  start();
  insertAndWaitAccount();
  const std::string order = orderOf(30);
  harness->pay(order, "decline");
  ASSERT_TRUE(kiosk->waitScreen("error:declined", 15s)) << "screen " << kiosk->screen();
  EXPECT_TRUE(tokens().empty());
  EXPECT_EQ(harness->orderState(order), "CANCELED");
  auto tx = journalOf(*kiosk)->byOrder(order);
  ASSERT_TRUE(tx && tx->has_value());
  EXPECT_EQ((*tx)->outcome, payments::Outcome::Declined);
  // Retry goes back to the amount screen for another try.
  kiosk->press(Kind::Retry);
  EXPECT_EQ(kiosk->screen(), "amount");
  expectBooks();
}

TEST_F(KioskE2e, CancelOnThePayScreenCancelsTheOrder) {
  start();
  insertAndWaitAccount();
  const std::string order = orderOf(40);
  kiosk->press(Kind::Cancel);
  ASSERT_TRUE(kiosk->waitScreen("amount", 15s)) << "screen " << kiosk->screen();
  EXPECT_EQ(harness->orderState(order), "CANCELED");
  auto tx = journalOf(*kiosk)->byOrder(order);
  ASSERT_TRUE(tx && tx->has_value());
  EXPECT_EQ((*tx)->outcome, payments::Outcome::Cancelled);
  EXPECT_TRUE(tokens().empty());
  expectBooks();
}

TEST_F(KioskE2e, APaymentAfterCancelBecomesCreditWrittenAtTheNextInsertion) {
  start();
  insertAndWaitAccount();
  const std::string order = orderOf(25);
  kiosk->press(Kind::Cancel);
  ASSERT_TRUE(kiosk->waitScreen("amount", 15s));
  pullAndWait();
  // The resident's wallet took the money anyway: it becomes credit pending on the account.
  harness->notifyPaid(order, 2500);
  slot->insert();
  ASSERT_TRUE(kiosk->waitScreen("done", 20s)) << "screen " << kiosk->screen();
  const auto* done = std::get_if<app::screen::Done>(&kiosk->state().screen);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->view.creditMinor, 2500);
  const auto onCard = tokens();
  ASSERT_EQ(onCard.size(), 1U);
  EXPECT_EQ(onCard[0].amount, 2500U);
  EXPECT_EQ(harness->orderState(order), "CANCELED");
  expectBooks();
}

class ShortOrders : public KioskE2e {
 protected:
  Harness::Options options() override { return {.orderTtlSeconds = 3, .proxy = true}; }
};

TEST_F(ShortOrders, AnUnpaidOrderExpires) {
  start();
  insertAndWaitAccount();
  const std::string order = orderOf(10);
  ASSERT_TRUE(kiosk->waitScreen("error:expired", 20s)) << "screen " << kiosk->screen();
  EXPECT_EQ(harness->orderState(order), "EXPIRED");
  EXPECT_TRUE(tokens().empty());
  expectBooks();
}

// Paid while the kiosk could not hear the cloud, and found paid by the sync loop after the pay
// screen gave up: the card still in the reader gets the credit then and there.
TEST_F(ShortOrders, APaymentFoundAfterThePayScreenGaveUpIsWrittenToTheCardStillIn) {
  start();
  insertAndWaitAccount();
  const std::string order = orderOf(10);
  harness->proxy().setDown(true);
  harness->pay(order);
  ASSERT_TRUE(kiosk->waitScreen("error:unconfirmed", 30s)) << "screen " << kiosk->screen();
  EXPECT_EQ(errorKind(), "unconfirmed");
  // Past the engine's own wait: only the background checks are left to find the payment.
  std::this_thread::sleep_for(Harness::fastEngine().paymentGrace + 1s);
  EXPECT_TRUE(tokens().empty());
  harness->proxy().setDown(false);
  ASSERT_TRUE(kiosk->waitScreen("done", 30s)) << "screen " << kiosk->screen();
  const auto onCard = tokens();
  ASSERT_EQ(onCard.size(), 1U);
  EXPECT_EQ(onCard[0].amount, 1000U);
  EXPECT_EQ(harness->orderState(order), "DELIVERED");
  expectBooks();
}

TEST_F(KioskE2e, CreditWhoseCardDidNotComeBackIsWrittenAtTheNextInsertion) {
  app::FlowConfig flow;
  flow.reinsert = 1500;  // the resident walks away instead of reinserting
  start(kWaterCard, flow);
  insertAndWaitAccount();
  const std::string order = orderOf(15);
  slot->tearAhead(0, card::VpcdLink::TearPoint::BeforeProcess);  // gone before the write
  harness->pay(order);
  ASSERT_TRUE(kiosk->waitScreen("reinsert", 15s)) << "screen " << kiosk->screen();
  ASSERT_TRUE(kiosk->waitScreen("error:write_failed", 10s)) << "screen " << kiosk->screen();
  EXPECT_TRUE(tokens().empty());
  EXPECT_EQ(harness->orderState(order), "PAID");  // pending on the account
  kiosk->press(Kind::Finish);
  ASSERT_EQ(kiosk->screen(), "attract");
  slot->insert();
  ASSERT_TRUE(kiosk->waitScreen("done", 20s)) << "screen " << kiosk->screen();
  ASSERT_EQ(tokens().size(), 1U);
  EXPECT_EQ(harness->orderState(order), "DELIVERED");
  expectBooks();
}

TEST_F(KioskE2e, CreditWhoseCardDidNotComeBackIsWrittenByAnotherKiosk) {
  app::FlowConfig flow;
  flow.reinsert = 1500;  // the resident walks away with the card
  start(kWaterCard, flow);
  insertAndWaitAccount();
  const std::string order = orderOf(16);
  slot->tearAhead(1, card::VpcdLink::TearPoint::BeforeProcess);  // gone as the UPDATE leaves
  harness->pay(order);
  ASSERT_TRUE(kiosk->waitScreen("reinsert", 15s)) << "screen " << kiosk->screen();
  ASSERT_TRUE(kiosk->waitScreen("error:write_failed", 10s)) << "screen " << kiosk->screen();
  EXPECT_EQ(harness->orderState(order), "TOKEN_ISSUED");  // minted, journaled, not on the card
  auto first = journalOf(*kiosk)->byOrder(order);
  ASSERT_TRUE(first && first->has_value());
  const std::int64_t token = (*first)->tokenSeq;
  ASSERT_NE(token, 0);
  kiosk.reset();  // this kiosk is switched off; the resident goes to the kiosk in building B

  const auto other = harness->registerKiosk("kiosk-b");
  auto second = harness->kiosk(other);
  slot->insert();
  ASSERT_TRUE(second->waitScreen("done", 20s)) << "screen " << second->screen();
  const auto onCard = tokens();
  ASSERT_EQ(onCard.size(), 1U);
  EXPECT_EQ(onCard[0].amount, 1600U);
  EXPECT_EQ(static_cast<std::int64_t>(onCard[0].sequence), token);  // the same token, never a second
  EXPECT_EQ(harness->orderState(order), "DELIVERED");
  auto adopted = journalOf(*second)->byOrder(order);
  ASSERT_TRUE(adopted && adopted->has_value());
  EXPECT_EQ((*adopted)->kind, payments::TxKind::Pending);
  EXPECT_EQ((*adopted)->outcome, payments::Outcome::Delivered);
  ASSERT_TRUE(second->syncAndWait(20s));
  for (const auto& problem : checkOutbox(*harness, other.journal, other.id)) ADD_FAILURE() << problem;
  slot->pull();
  ASSERT_TRUE(second->waitScreen("attract", 10s)) << "screen " << second->screen();
  second->stop();

  // The first kiosk comes back and learns from the cloud where its credit went.
  kiosk = harness->kiosk();
  ASSERT_TRUE(kiosk->syncAndWait(20s));
  auto settled = journalOf(*kiosk)->byOrder(order);
  ASSERT_TRUE(settled && settled->has_value());
  EXPECT_EQ((*settled)->outcome, payments::Outcome::DeliveredElsewhere);
  EXPECT_EQ(kiosk->status().openTransactions, 0U);
  const auto firstJournal = journalOf(*kiosk);
  const auto secondJournal = journalOf(*second);
  ASSERT_TRUE(firstJournal && secondJournal);
  for (const auto& problem : checkBooks(*harness, slot->image(), {firstJournal.get(), secondJournal.get()},
                                        kWaterCard)) {
    ADD_FAILURE() << problem;
  }
  for (const auto& problem : checkOutbox(*harness, harness->journalFile())) ADD_FAILURE() << problem;
}

TEST_F(KioskE2e, ABlockedCardIsRefused) {
  start();
  auto blocked = cloud::test::AdminClient(harness->cloud().port())
                     .post(std::string("/v1/admin/cards/") + kWaterCard + "/status", {{"status", "BLOCKED"}});
  ASSERT_EQ(blocked.status, 200) << blocked.text;
  slot->insert();
  ASSERT_TRUE(kiosk->waitScreen("error:blocked", 15s)) << "screen " << kiosk->screen();
  EXPECT_TRUE(tokens().empty());
}

TEST_F(KioskE2e, ABlockedCardIsRefusedOfflineFromTheLastConfig) {
  auto blocked = cloud::test::AdminClient(harness->cloud().port())
                     .post(std::string("/v1/admin/cards/") + kWaterCard + "/status", {{"status", "BLOCKED"}});
  ASSERT_EQ(blocked.status, 200) << blocked.text;
  start();
  ASSERT_TRUE(kiosk->syncAndWait(15s));
  ASSERT_TRUE(kiosk->configBlocks(kWaterCard).has_value());
  EXPECT_TRUE(*kiosk->configBlocks(kWaterCard));
  // The kiosk restarts with the network down: the kept config still refuses the card.
  kiosk.reset();
  harness->proxy().setDown(true);
  kiosk = harness->kiosk();
  slot->insert();
  ASSERT_TRUE(kiosk->waitScreen("error:blocked", 15s)) << "screen " << kiosk->screen();
}

TEST_F(KioskE2e, OfflineTheCardStillReadsAndPaymentsAreRefusedUntilTheNetworkReturns) {
  start();
  ASSERT_TRUE(kiosk->syncAndWait(15s));  // config kept for offline use
  harness->proxy().setDown(true);
  slot->insert();
  ASSERT_TRUE(kiosk->waitScreen("account", 15s)) << "screen " << kiosk->screen();
  const auto* account = std::get_if<app::screen::Account>(&kiosk->state().screen);
  ASSERT_NE(account, nullptr);
  EXPECT_FALSE(account->account.payable());
  EXPECT_EQ(account->account.cardNumber, kWaterCard);
  EXPECT_EQ(account->amount.maxMinor, 50000);  // limits from the kept config
  EXPECT_TRUE(account->account.offline);
  kiosk->press(Kind::TopUp);  // disabled: nothing happens
  EXPECT_EQ(kiosk->screen(), "account");
  pullAndWait();
  // The network comes back: the next insertion is online again, and the events recorded
  // meanwhile reach the cloud.
  harness->proxy().setDown(false);
  insertAndWaitAccount();
  account = std::get_if<app::screen::Account>(&kiosk->state().screen);
  ASSERT_NE(account, nullptr);
  EXPECT_TRUE(account->account.payable());
  const std::string order = orderOf(20);
  harness->pay(order);
  ASSERT_TRUE(kiosk->waitScreen("done", 20s)) << "screen " << kiosk->screen();
  expectBooks();
  EXPECT_TRUE(drainOutbox());
}

// The card leaves at each APDU of the write (GET CHALLENGE, UPDATE RECORD, READ RECORD),
// before the card sees it or after it acted on it; the same card comes back.
class PulledMidWrite
    : public KioskE2e,
      public ::testing::WithParamInterface<std::tuple<int, card::VpcdLink::TearPoint>> {};

TEST_P(PulledMidWrite, TheSameCardGetsExactlyOneToken) {
  const auto [apdu, point] = GetParam();
  start();
  insertAndWaitAccount();
  const std::string order = orderOf(35);
  slot->tearAhead(static_cast<std::uint64_t>(apdu), point);
  harness->pay(order);
  ASSERT_TRUE(kiosk->pumpUntil([&](const app::FlowState&) { return slot->torn(); }, 15s))
      << "the write never reached APDU " << apdu << "; screen " << kiosk->screen();
  ASSERT_TRUE(kiosk->waitScreen("reinsert", 15s)) << "screen " << kiosk->screen();
  slot->insert();
  ASSERT_TRUE(kiosk->waitScreen("done", 20s)) << "screen " << kiosk->screen();
  const auto onCard = tokens();
  ASSERT_EQ(onCard.size(), 1U);
  EXPECT_EQ(onCard[0].amount, 3500U);
  EXPECT_EQ(harness->orderState(order), "DELIVERED");
  // Once the UPDATE reached the card the token is found there and only confirmed; before
  // that, the same token is written again under a fresh challenge.
  auto tx = journalOf(*kiosk)->byOrder(order);
  ASSERT_TRUE(tx && tx->has_value());
  auto steps = journalOf(*kiosk)->steps((*tx)->id);
  ASSERT_TRUE(steps);
  const auto fetched = std::count(steps->begin(), steps->end(), "script_fetched");
  const bool updateLanded = apdu == 2 || (apdu == 1 && point == card::VpcdLink::TearPoint::AfterProcess);
  EXPECT_EQ(fetched, updateLanded || apdu == 0 ? 1 : 2);
  expectBooks();
}

std::string tearName(const ::testing::TestParamInfo<PulledMidWrite::ParamType>& info) {
  static const char* const kApdus[] = {"GetChallenge", "UpdateRecord", "ReadBack"};
  const bool before = std::get<1>(info.param) == card::VpcdLink::TearPoint::BeforeProcess;
  return std::string(kApdus[std::get<0>(info.param)]) + (before ? "Before" : "After");
}

INSTANTIATE_TEST_SUITE_P(EveryApdu, PulledMidWrite,
                         ::testing::Combine(::testing::Values(0, 1, 2),
                                            ::testing::Values(card::VpcdLink::TearPoint::BeforeProcess,
                                                              card::VpcdLink::TearPoint::AfterProcess)),
                         tearName);

TEST_F(KioskE2e, ADifferentCardIsRefusedWhileTheTornOneIsAwaited) {
  start();
  insertAndWaitAccount();
  const std::string order = orderOf(12);
  slot->tearAhead(1, card::VpcdLink::TearPoint::BeforeProcess);
  harness->pay(order);
  ASSERT_TRUE(kiosk->waitScreen("reinsert", 15s)) << "screen " << kiosk->screen();
  // Another resident's card: refused, nothing written to it, still waiting for the first.
  CardSlot other(harness->pcscd(), harness->issue(kFeesCard));
  slot->pull();
  other.insert();
  ASSERT_TRUE(kiosk->pumpUntil(
      [](const app::FlowState& state) {
        const auto* reinsert = std::get_if<app::screen::Reinsert>(&state.screen);
        return reinsert != nullptr && reinsert->view.wrongCard;
      },
      15s));
  other.pull();
  EXPECT_TRUE(tokensOn(other.image()).empty());
  slot->insert();
  ASSERT_TRUE(kiosk->waitScreen("done", 20s)) << "screen " << kiosk->screen();
  EXPECT_EQ(tokens().size(), 1U);
  expectBooks();
}

}  // namespace
}  // namespace kiosk::e2e
