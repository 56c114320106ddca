// The network breaks during each call the kiosk makes: before the request reaches the cloud,
// or after the cloud acted on it and its answer is lost. The resident still gets exactly one
// token per paid order, and the books agree.

#include "kiosk_fixture.hpp"

namespace kiosk::e2e {
namespace {

struct Call {
  const char* name;
  const char* method;
  const char* pattern;
};

constexpr Call kCalls[] = {
    {"Lookup", "GET", "^/v1/kiosk/cards/"},
    {"CreateOrder", "POST", "^/v1/kiosk/orders$"},
    {"OrderState", "GET", "^/v1/kiosk/orders/"},
    {"Cancel", "POST", "/cancel$"},
    {"Script", "POST", "/script$"},
    {"Delivered", "POST", "/delivered$"},
    {"Journal", "POST", "^/v1/kiosk/journal$"},
    {"Config", "GET", "^/v1/kiosk/config$"},
    {"Reading", "POST", "^/v1/kiosk/readings$"},
};

class NetworkCut : public KioskE2e,
                   public ::testing::WithParamInterface<std::tuple<int, Proxy::Cut>> {};

TEST_P(NetworkCut, EveryPaidOrderEndsOnTheCardOnce) {
  const auto [index, cut] = GetParam();
  const Call& call = kCalls[index];
  harness->proxy().cutNext(call.method, call.pattern, cut);
  start();
  // The meter has written its readings on the card: the kiosk passes them to the cloud.
  harness->meterWrote(slot->file(), 1234, 56000);
  slot->insert();
  ASSERT_TRUE(kiosk->waitScreen("account", 15s)) << "screen " << kiosk->screen();
  const auto* account = std::get_if<app::screen::Account>(&kiosk->state().screen);
  ASSERT_NE(account, nullptr);
  EXPECT_EQ(account->account.balanceMinor, 1234);  // from the card, online or not
  if (!account->account.payable()) {
    // The lookup was lost: the account shows offline; taking the card out and in again is
    // what a resident does, and the kiosk is online again.
    EXPECT_STREQ(call.name, "Lookup");
    pullAndWait();
    slot->insert();
    ASSERT_TRUE(kiosk->waitScreen("account", 15s)) << "screen " << kiosk->screen();
  }
  if (std::string(call.name) == "Cancel") {
    const std::string cancelled = orderOf(11);
    kiosk->press(Kind::Cancel);
    ASSERT_TRUE(kiosk->waitScreen("amount", 20s)) << "screen " << kiosk->screen();
    EXPECT_EQ(harness->orderState(cancelled), "CANCELED");
    kiosk->press(Kind::Back);
  }
  const std::string order = orderOf(22);
  ASSERT_FALSE(order.empty());
  harness->pay(order);
  ASSERT_TRUE(kiosk->waitScreen("done", 30s)) << "screen " << kiosk->screen();
  EXPECT_TRUE(drainOutbox()) << "events left in the outbox";
  EXPECT_GE(harness->proxy().cutsDone(), 1) << "the " << call.name << " call was never cut";

  const auto onCard = tokens();
  ASSERT_EQ(onCard.size(), 1U);
  EXPECT_EQ(onCard[0].amount, 2200U);
  EXPECT_EQ(harness->orderState(order), "DELIVERED");
  // A lost answer to "create order" must not leave a second order behind.
  int orders = 0;
  const json all = harness->orders();
  for (const auto& o : all["orders"]) {
    if (o.value("card_number", "") == kWaterCard) ++orders;
  }
  EXPECT_EQ(orders, std::string(call.name) == "Cancel" ? 2 : 1);
  EXPECT_EQ(kiosk->status().openTransactions, 0U);
  expectBooks();
  // The meter's readings travelled with the card read, whatever call was cut.
  const auto image = slot->image();
  ASSERT_FALSE(image.meterReturn.empty());
  const std::string returnField = "\"return\":\"" + kiosk::toHex(image.meterReturn) + "\"";
  bool carried = false;
  for (const auto& read : cloudEvents(*harness, "card.read")) {
    const std::string text = read.dump();
    carried = carried || (text.find(returnField) != std::string::npos &&
                          text.find("\"remaining\":1234") != std::string::npos);
  }
  EXPECT_TRUE(carried) << "no card read with the RETURN data reached the cloud";
}

std::string cutName(const ::testing::TestParamInfo<NetworkCut::ParamType>& info) {
  const bool before = std::get<1>(info.param) == Proxy::Cut::BeforeForward;
  return std::string(kCalls[std::get<0>(info.param)].name) + (before ? "Unsent" : "AnswerLost");
}

INSTANTIATE_TEST_SUITE_P(EachCall, NetworkCut,
                         ::testing::Combine(::testing::Range(0, static_cast<int>(std::size(kCalls))),
                                            ::testing::Values(Proxy::Cut::BeforeForward,
                                                              Proxy::Cut::AfterForward)),
                         cutName);

}  // namespace
}  // namespace kiosk::e2e
