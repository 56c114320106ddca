#pragma once
// A fixture for the in-process e2e tests: one harness (cloud, proxy, pcscd), one demo card in
// vpcd's first slot, the kiosk runtime, and the steps a resident takes.

#include <gtest/gtest.h>

#include <algorithm>

#include "harness.hpp"

namespace kiosk::e2e {

using Kind = app::Intent::Kind;

class KioskE2e : public ::testing::Test {
 protected:
  void SetUp() override { harness = std::make_unique<Harness>(options()); }
  virtual Harness::Options options() { return {}; }

  void start(const std::string& cardNumber = kWaterCard, app::FlowConfig flow = {}) {
    cardNumberInUse = cardNumber;
    slot = std::make_unique<CardSlot>(harness->pcscd(), harness->issue(cardNumber));
    kiosk = harness->kiosk(Harness::fastEngine(), flow);
  }
  void pullAndWait(const std::string& screen = "attract") {
    slot->pull();
    EXPECT_TRUE(kiosk->waitScreen(screen, 10s)) << "screen " << kiosk->screen();
  }
  std::string errorKind() const {
    const auto* error = std::get_if<app::screen::Error>(&kiosk->state().screen);
    return error != nullptr ? error->view.code : std::string{};
  }
  void insertAndWaitAccount() {
    slot->insert();
    ASSERT_TRUE(kiosk->waitScreen("account", 15s)) << "screen " << kiosk->screen();
  }
  // account -> amount -> type yuan -> confirm -> pay screen; returns the order id.
  std::string orderOf(int yuan) {
    kiosk->press(Kind::TopUp);
    EXPECT_EQ(kiosk->screen(), "amount");
    kiosk->press(Kind::Clear);
    for (const char c : std::to_string(yuan)) kiosk->press(Kind::Digit, c - '0');
    kiosk->press(Kind::ConfirmAmount);
    EXPECT_TRUE(kiosk->waitScreen("pay", 15s)) << "screen " << kiosk->screen();
    const auto pay = kiosk->lastPay();
    return pay ? pay->orderId : std::string{};
  }
  // Syncs until the outbox is empty (a cut upload is retried with backoff); false on timeout.
  bool drainOutbox(std::chrono::seconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!kiosk->syncAndWait(10s)) return false;
      if (kiosk->status().outboxPending == 0) return true;
    }
    return false;
  }
  // The books after a scenario (see checkBooks), and the outbox as far as the cloud has
  // acknowledged it (see checkOutbox).
  void expectBooks() {
    ASSERT_TRUE(kiosk->syncAndWait(20s));
    const auto journal = journalOf(*kiosk);
    ASSERT_TRUE(journal);
    const auto problems = checkBooks(*harness, slot->image(), *journal, cardNumberInUse);
    for (const auto& problem : problems) ADD_FAILURE() << problem;
    for (const auto& problem : checkOutbox(*harness, harness->journalFile())) ADD_FAILURE() << problem;
  }
  std::vector<card::CreditToken> tokens() { return tokensOn(slot->image()); }

  std::unique_ptr<Harness> harness;
  std::unique_ptr<CardSlot> slot;
  std::unique_ptr<app::Runtime> kiosk;
  std::string cardNumberInUse;
};


}  // namespace kiosk::e2e
