// The resident flow, driven the way the screens and the engine drive it.
#include "kiosk/flow.hpp"

#include <gtest/gtest.h>

using namespace kiosk::app;
using Kind = Intent::Kind;

namespace {

AccountView sampleAccount() {
  AccountView a;
  a.cardNumber = "3101000012345678";
  a.balanceMinor = 1834;
  return a;
}

AmountView sampleAmount() {
  AmountView v;
  v.presetsMinor = {5'000, 10'000, 20'000};
  v.minMinor = 1'000;
  v.maxMinor = 200'000;
  v.feesOwedMinor = 3'000;
  v.priceMinorPerUnit = 56;
  return v;
}

class FlowTest : public ::testing::Test {
 protected:
  std::vector<Command> send(const Event& e) { return flow.handle(e, now); }
  std::vector<Command> press(Kind kind, int value = 0) {
    return send(event::Input{Intent{kind, value}});
  }
  std::string screen() const { return screenName(flow.state().screen); }

  // Card in, read, account loaded: the account screen.
  void toAccount(bool offline = false) {
    auto commands = send(event::CardInserted{});
    ASSERT_EQ(screen(), "reading");
    ASSERT_EQ(commands.size(), 1U);
    ASSERT_TRUE(std::holds_alternative<command::ReadCard>(commands[0]));
    commands = send(event::CardRead{"3101000012345678"});
    ASSERT_EQ(commands.size(), 1U);
    ASSERT_EQ(std::get<command::LookupAccount>(commands[0]).cardNumber, "3101000012345678");
    send(event::AccountLoaded{sampleAccount(), sampleAmount(), offline});
    ASSERT_EQ(screen(), "account");
  }

  // ... then ¥100 and an order: the pay screen.
  void toPay() {
    toAccount();
    press(Kind::TopUp);
    ASSERT_EQ(screen(), "amount");
    press(Kind::Preset, 1);
    auto commands = press(Kind::ConfirmAmount);
    ASSERT_EQ(commands.size(), 1U);
    const auto& order = std::get<command::CreateOrder>(commands[0]);
    EXPECT_EQ(order.amountMinor, 10'000);
    EXPECT_EQ(order.cardNumber, "3101000012345678");
    PayView pay;
    pay.orderId = "ord_1";
    pay.amountMinor = 10'000;
    pay.secondsLeft = 180;
    send(event::OrderCreated{pay});
    ASSERT_EQ(screen(), "pay");
  }

  Flow flow;
  Millis now = 1'000'000;
};

}  // namespace

TEST_F(FlowTest, FullTopUpWritesTheTokenAfterPayment) {
  toPay();
  auto commands = send(event::OrderPaid{"ord_1"});
  EXPECT_EQ(screen(), "writing");
  // The writing screen starts at its first step (under way), not at "step 0 of 3".
  EXPECT_EQ(std::get<screen::Writing>(flow.state().screen).view.step, 1);
  ASSERT_EQ(commands.size(), 1U);
  EXPECT_EQ(std::get<command::WriteToken>(commands[0]).orderId, "ord_1");
  send(event::WriteProgress{2, 3});
  EXPECT_EQ(std::get<screen::Writing>(flow.state().screen).view.step, 2);
  DoneView done;
  done.creditMinor = 7'000;
  send(event::WriteDone{done});
  EXPECT_EQ(screen(), "done");
  press(Kind::Finish);
  EXPECT_EQ(screen(), "take_card");
  send(event::CardRemoved{});
  EXPECT_EQ(screen(), "attract");
}

TEST_F(FlowTest, PaymentForAnotherOrderIsIgnored) {
  toPay();
  EXPECT_TRUE(send(event::OrderPaid{"ord_other"}).empty());
  EXPECT_EQ(screen(), "pay");
}

TEST_F(FlowTest, DeclineAndExpiryOfferToChooseAgain) {
  toPay();
  send(event::OrderDeclined{"ord_1"});
  EXPECT_EQ(screen(), "error:declined");
  press(Kind::Retry);
  EXPECT_EQ(screen(), "amount");
  EXPECT_EQ(std::get<screen::Amount>(flow.state().screen).view.entered, "100");

  press(Kind::ConfirmAmount);
  PayView pay;
  pay.orderId = "ord_2";
  pay.secondsLeft = 180;
  send(event::OrderCreated{pay});
  send(event::OrderExpired{"ord_2"});
  EXPECT_EQ(screen(), "error:expired");
}

TEST_F(FlowTest, CancelWaitsForTheCloudAndAPaymentCanStillWin) {
  toPay();
  auto commands = press(Kind::Cancel);
  ASSERT_EQ(commands.size(), 1U);
  EXPECT_EQ(std::get<command::CancelOrder>(commands[0]).orderId, "ord_1");
  EXPECT_EQ(screen(), "pay");
  EXPECT_TRUE(press(Kind::Cancel).empty()) << "cancel sent twice";
  // The payment arrived before the cancel: the credit is written, not lost.
  send(event::OrderPaid{"ord_1"});
  EXPECT_EQ(screen(), "writing");
}

TEST_F(FlowTest, CancelledOrderReturnsToTheAmount) {
  toPay();
  press(Kind::Cancel);
  send(event::OrderCancelled{"ord_1"});
  EXPECT_EQ(screen(), "amount");
}

TEST_F(FlowTest, CardPulledOnThePayScreenCancelsTheOrder) {
  toPay();
  auto commands = send(event::CardRemoved{});
  EXPECT_EQ(screen(), "attract");
  ASSERT_EQ(commands.size(), 1U);
  EXPECT_EQ(std::get<command::CancelOrder>(commands[0]).orderId, "ord_1");
}

TEST_F(FlowTest, CardPulledMidWriteAsksForTheSameCardBack) {
  toPay();
  send(event::OrderPaid{"ord_1"});
  send(event::CardRemoved{});
  ASSERT_EQ(screen(), "reinsert");
  EXPECT_EQ(std::get<screen::Reinsert>(flow.state().screen).view.cardNumber, "3101000012345678");

  // Another card: refused, still waiting.
  send(event::CardInserted{});
  EXPECT_TRUE(send(event::CardRead{"9999000000000001"}).empty());
  ASSERT_EQ(screen(), "reinsert");
  EXPECT_TRUE(std::get<screen::Reinsert>(flow.state().screen).view.wrongCard);
  send(event::CardRemoved{});

  // The same card: the engine resumes the same order's write.
  now += 10'000;
  auto commands = send(event::CardInserted{});
  ASSERT_EQ(commands.size(), 1U);
  EXPECT_TRUE(std::holds_alternative<command::ReadCard>(commands[0]));
  commands = send(event::CardRead{"3101000012345678"});
  EXPECT_EQ(screen(), "writing");
  ASSERT_EQ(commands.size(), 1U);
  EXPECT_EQ(std::get<command::WriteToken>(commands[0]).orderId, "ord_1");
}

TEST_F(FlowTest, CardThatNeverComesBackLeavesTheCreditPending) {
  toPay();
  send(event::OrderPaid{"ord_1"});
  send(event::CardRemoved{});
  now += 30'000;
  send(event::Tick{});
  EXPECT_EQ(screen(), "reinsert");
  EXPECT_EQ(std::get<screen::Reinsert>(flow.state().screen).view.secondsLeft, 60);
  now += 60'000;
  send(event::Tick{});
  EXPECT_EQ(screen(), "error:write_failed");
}

TEST_F(FlowTest, PendingCreditIsWrittenBeforeAnythingElse) {
  send(event::CardInserted{});
  send(event::CardRead{"3101000012345678"});
  auto commands = send(event::PendingWrite{"ord_old"});
  EXPECT_EQ(screen(), "writing");
  ASSERT_EQ(commands.size(), 1U);
  EXPECT_EQ(std::get<command::WriteToken>(commands[0]).orderId, "ord_old");
  EXPECT_EQ(std::get<command::WriteToken>(commands[0]).cardNumber, "3101000012345678");
}

TEST_F(FlowTest, OfflineAccountShowsButRefusesPayment) {
  toAccount(/*offline=*/true);
  // The screen knows it is offline (its banner, what it cannot know) ...
  EXPECT_TRUE(std::get<screen::Account>(flow.state().screen).account.offline);
  // ... and paying is disabled before the resident tries, not refused after.
  EXPECT_TRUE(press(Kind::TopUp).empty());
  EXPECT_EQ(screen(), "account");
}

TEST_F(FlowTest, BadCardsGetTheirOwnErrorScreens) {
  const std::pair<CardFault, const char*> cases[] = {
      {CardFault::Foreign, "error:foreign_card"},
      {CardFault::NotAuthentic, "error:not_authentic"},
      {CardFault::Blocked, "error:blocked"},
      {CardFault::Unreadable, "error:card_unreadable"},
      {CardFault::Full, "error:card_full"},
  };
  for (const auto& [fault, expected] : cases) {
    Flow fresh;
    fresh.handle(event::CardInserted{}, now);
    EXPECT_TRUE(fresh.handle(event::CardFailed{fault}, now).empty());
    EXPECT_EQ(screenName(fresh.state().screen), expected);
    fresh.handle(event::CardRemoved{}, now);
    EXPECT_EQ(screenName(fresh.state().screen), "attract");
  }
}

TEST_F(FlowTest, KeypadRefusesLeadingZerosLongInputAndOutOfLimitAmounts) {
  toAccount();
  press(Kind::TopUp);
  press(Kind::Digit, 0);
  for (int i = 0; i < 8; ++i) press(Kind::Digit, 9);
  const auto& amount = std::get<screen::Amount>(flow.state().screen).view;
  EXPECT_EQ(amount.entered, "99999");  // five digits at most, no leading zero
  EXPECT_TRUE(press(Kind::ConfirmAmount).empty());
  EXPECT_EQ(std::get<screen::Amount>(flow.state().screen).view.problemKey, "amount.too_high");

  press(Kind::Clear);
  press(Kind::Digit, 5);
  EXPECT_TRUE(press(Kind::ConfirmAmount).empty());
  EXPECT_EQ(std::get<screen::Amount>(flow.state().screen).view.problemKey, "amount.too_low");

  press(Kind::Digit, 0);
  EXPECT_FALSE(std::get<screen::Amount>(flow.state().screen).view.problemKey.has_value());
  const auto commands = press(Kind::ConfirmAmount);
  ASSERT_EQ(commands.size(), 1U);
  EXPECT_EQ(std::get<command::CreateOrder>(commands[0]).amountMinor, 5'000);
}

TEST_F(FlowTest, FeesOwedAreTakenFirstFromTheAmount) {
  toAccount();
  press(Kind::TopUp);
  press(Kind::Digit, 2);
  press(Kind::Digit, 0);
  const auto& amount = std::get<screen::Amount>(flow.state().screen).view;
  EXPECT_EQ(amount.feeShareMinor, 2'000);  // all of ¥20 goes to the ¥30 owed
  press(Kind::Digit, 0);
  EXPECT_EQ(std::get<screen::Amount>(flow.state().screen).view.feeShareMinor, 3'000);
}

TEST_F(FlowTest, InactivityReturnsToAttract) {
  toAccount();
  press(Kind::TopUp);
  now += 59'000;
  send(event::Tick{});
  EXPECT_EQ(screen(), "amount");
  press(Kind::Digit, 1);  // any touch restarts the timer
  now += 59'000;
  send(event::Tick{});
  EXPECT_EQ(screen(), "amount");
  now += 2'000;
  send(event::Tick{});
  // The card is still in the reader: the kiosk asks for it rather than for a card.
  EXPECT_EQ(screen(), "take_card");
  send(event::CardRemoved{});
  EXPECT_EQ(screen(), "attract");
}

TEST_F(FlowTest, OutOfServiceOnlyWhenIdle) {
  toAccount();
  send(event::ServiceFault{"oos.reader"});
  EXPECT_EQ(screen(), "account");
  send(event::CardRemoved{});
  send(event::ServiceFault{"oos.reader"});
  EXPECT_EQ(screen(), "out_of_service");
  EXPECT_TRUE(send(event::CardInserted{}).empty()) << "a card was read while out of service";
  send(event::ServiceRestored{});
  EXPECT_EQ(screen(), "attract");
}

TEST_F(FlowTest, AStaffCardAsksNothingOfTheCloudAndLeavesTheFlowIdle) {
  send(event::CardInserted{});
  ASSERT_EQ(screen(), "reading");
  const auto commands = send(event::CardRead{"8800009001", true});
  EXPECT_TRUE(commands.empty()) << "no account lookup for a staff card";
  EXPECT_EQ(screen(), "attract");
  EXPECT_EQ(flow.state().cardNumber, "8800009001");  // for maintenance to recognise
  send(event::CardRemoved{});
  EXPECT_EQ(flow.state().cardNumber, "");
}

// ---- The pay screen never states an outcome the cloud did not give.

TEST_F(FlowTest, ThePayScreenSaysWhenItCannotReachTheCloud) {
  toPay();
  send(event::OrderContact{"ord_1", false});
  EXPECT_EQ(screen(), "pay:offline");
  EXPECT_FALSE(std::get<screen::Paying>(flow.state().screen).view.reachable);
  send(event::OrderContact{"ord_other", true});
  EXPECT_EQ(screen(), "pay:offline") << "another order's contact changed this screen";
  send(event::OrderContact{"ord_1", true});
  EXPECT_EQ(screen(), "pay");
}

TEST_F(FlowTest, AnExpiryWithoutAnAnswerIsUnconfirmedAndAPaymentFoundLaterIsWrittenAtOnce) {
  toPay();
  send(event::OrderContact{"ord_1", false});
  now += 179'000;
  send(event::Tick{});
  EXPECT_EQ(screen(), "pay:offline");
  now += 2'000;
  send(event::Tick{});
  EXPECT_EQ(screen(), "error:unconfirmed") << "the kiosk claimed an outcome it does not know";
  const auto& error = std::get<screen::Error>(flow.state().screen);
  EXPECT_EQ(error.view.orderId, "ord_1");
  EXPECT_FALSE(error.view.canRetry) << "paying again while the first payment is unknown";
  // The cloud answers later: paid. The card is still in the reader: written now.
  const auto commands = send(event::OrderPaid{"ord_1"});
  EXPECT_EQ(screen(), "writing");
  ASSERT_EQ(commands.size(), 1U);
  EXPECT_EQ(std::get<command::WriteToken>(commands[0]).orderId, "ord_1");
}

TEST_F(FlowTest, WhileTheCloudAnswersThePayScreenWaitsForItsWordPastTheCountdown) {
  toPay();
  now += 185'000;
  send(event::Tick{});
  EXPECT_EQ(screen(), "pay");
  send(event::OrderExpired{"ord_1"});
  EXPECT_EQ(screen(), "error:expired");
}

TEST_F(FlowTest, TheEngineGivingUpOnAnAnswerIsUnconfirmedNotExpired) {
  toPay();
  send(event::OrderUnconfirmed{"ord_other"});
  EXPECT_EQ(screen(), "pay");
  send(event::OrderUnconfirmed{"ord_1"});
  EXPECT_EQ(screen(), "error:unconfirmed");
  EXPECT_EQ(std::get<screen::Error>(flow.state().screen).view.orderId, "ord_1");
}

TEST_F(FlowTest, CreditFoundPaidAfterTheScreenMovedOnIsWrittenWhileTheCardIsIn) {
  toPay();
  send(event::OrderUnconfirmed{"ord_1"});
  auto commands = send(event::PendingWrite{"ord_1"});
  EXPECT_EQ(screen(), "writing");
  ASSERT_EQ(commands.size(), 1U);
  EXPECT_EQ(std::get<command::WriteToken>(commands[0]).cardNumber, "3101000012345678");

  // With the card gone, the credit waits for the next insertion.
  Flow other;
  other.handle(event::CardInserted{}, now);
  other.handle(event::CardFailed{CardFault::Full}, now);
  other.handle(event::CardRemoved{}, now);
  EXPECT_TRUE(other.handle(event::PendingWrite{"ord_1"}, now).empty());
  EXPECT_EQ(screenName(other.state().screen), "attract");
}

TEST_F(FlowTest, TheCloudsLaterWordReplacesTheUnconfirmedScreen) {
  toPay();
  send(event::OrderUnconfirmed{"ord_1"});
  send(event::OrderExpired{"ord_other"});
  EXPECT_EQ(screen(), "error:unconfirmed");
  send(event::OrderExpired{"ord_1"});
  EXPECT_EQ(screen(), "error:expired");
  press(Kind::Retry);
  EXPECT_EQ(screen(), "amount");

  Flow cancelled;
  cancelled.handle(event::CardInserted{}, now);
  cancelled.handle(event::CardRead{"3101000012345678"}, now);
  cancelled.handle(event::AccountLoaded{sampleAccount(), sampleAmount(), false}, now);
  cancelled.handle(event::Input{Intent{Kind::TopUp, 0}}, now);
  cancelled.handle(event::Input{Intent{Kind::Preset, 0}}, now);
  cancelled.handle(event::Input{Intent{Kind::ConfirmAmount, 0}}, now);
  PayView pay;
  pay.orderId = "ord_9";
  pay.secondsLeft = 60;
  cancelled.handle(event::OrderCreated{pay}, now);
  cancelled.handle(event::OrderUnconfirmed{"ord_9"}, now);
  // The kiosk cancelled the order nobody paid: nothing was charged.
  cancelled.handle(event::OrderCancelled{"ord_9"}, now);
  EXPECT_EQ(screenName(cancelled.state().screen), "error:expired");
}

TEST_F(FlowTest, ARefundedPaymentIsNotCalledDeclined) {
  toPay();
  send(event::OrderRefunded{"ord_1"});
  EXPECT_EQ(screen(), "error:refunded");
}

// ---- Whom to call: every error and out-of-service screen gives the property's phone and hours.

TEST_F(FlowTest, ErrorAndOutOfServiceScreensGiveTheServiceContact) {
  event::ConfigLoaded config;
  config.kioskId = "kiosk-demo";
  config.service = {"400-820-1234", "08:00-20:00", "Asia/Shanghai"};
  send(config);
  send(event::CardInserted{});
  send(event::CardFailed{CardFault::NotAuthentic});
  const auto& error = std::get<screen::Error>(flow.state().screen);
  EXPECT_EQ(error.view.contact.phone, "400-820-1234");
  EXPECT_EQ(error.view.contact.hours, "08:00-20:00");
  send(event::CardRemoved{});
  send(event::ServiceFault{"oos.reader"});
  ASSERT_EQ(screen(), "out_of_service");
  EXPECT_EQ(std::get<screen::OutOfService>(flow.state().screen).view.contact.phone, "400-820-1234");
  EXPECT_EQ(flow.state().service.timeZone, "Asia/Shanghai");
}

// ---- A card left in the reader is asked for, not forgotten.

TEST_F(FlowTest, TheDoneScreenAsksForTheCardLeftInAndStartsOverOnlyWhenItIsOut) {
  toPay();
  send(event::OrderPaid{"ord_1"});
  send(event::WriteDone{DoneView{}});
  ASSERT_EQ(screen(), "done");
  now += 20'000;
  send(event::Tick{});
  EXPECT_EQ(screen(), "take_card");
  now += 600'000;
  send(event::Tick{});
  EXPECT_EQ(screen(), "take_card");
  send(event::CardRemoved{});
  EXPECT_EQ(screen(), "attract");
}

TEST_F(FlowTest, FinishWithTheCardStillInAsksForIt) {
  toPay();
  send(event::OrderDeclined{"ord_1"});
  press(Kind::Finish);
  EXPECT_EQ(screen(), "take_card");
  send(event::CardRemoved{});
  EXPECT_EQ(screen(), "attract");

  Flow noCard;
  noCard.handle(event::CardInserted{}, now);
  noCard.handle(event::CardFailed{CardFault::Foreign}, now);
  noCard.handle(event::CardRemoved{}, now);
  EXPECT_EQ(screenName(noCard.state().screen), "attract");
}

TEST_F(FlowTest, AnErrorScreenLeftWithTheCardInAsksForIt) {
  send(event::CardInserted{});
  send(event::CardFailed{CardFault::Foreign});
  now += 20'000;
  send(event::Tick{});
  EXPECT_EQ(screen(), "take_card");
  // Put back in, it is read again.
  send(event::CardRemoved{});
  send(event::CardInserted{});
  EXPECT_EQ(screen(), "reading");
}
