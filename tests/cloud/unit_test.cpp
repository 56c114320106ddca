// Fast in-process checks of the cloud's pieces: tariffs and the
// order state machine of the store on an in-memory SQLite database.

#include "cloud/api_json.hpp"
#include "cloud/schema.hpp"
#include "cloud/store.hpp"
#include "cloud/tariff.hpp"
#include "protocol/signing.hpp"

#include <gtest/gtest.h>

namespace kiosk::cloud {
namespace {

using nlohmann::json;

TEST(Tariff, SingleRateBuysAmountOverRate) {
  auto tariff = parseTariff({{"kind", "single"}, {"rate", 56}});
  ASSERT_TRUE(tariff);
  EXPECT_EQ(estimateUnits(*tariff, 1000, 0, 12), 17857);  // 10.00 at 0.56/kWh = 17.857 kWh
  EXPECT_EQ(estimateUnits(*tariff, 0, 0, 12), 0);
}

TEST(Tariff, TiersFollowTheMonthsConsumption) {
  auto tariff = parseTariff(json::parse(
      R"({"kind":"tiered","tiers":[{"up_to":200,"rate":50},{"up_to":400,"rate":100},{"rate":200}]})"));
  ASSERT_TRUE(tariff);
  // 190 kWh used: 10 kWh at 0.50 (5.00), the remaining 5.00 at 1.00 buys 5 kWh.
  EXPECT_EQ(estimateUnits(*tariff, 1000, 190000, 0), 15000);
  // Already in the top tier.
  EXPECT_EQ(estimateUnits(*tariff, 1000, 500000, 0), 5000);
}

TEST(Tariff, TimeOfUsePicksTheBandOfTheHour) {
  auto tariff = parseTariff(json::parse(
      R"({"kind":"time_of_use","bands":[{"name":"valley","from":22,"to":8,"rate":25},
         {"name":"flat","from":8,"to":18,"rate":50},{"name":"peak","from":18,"to":22,"rate":100}]})"));
  ASSERT_TRUE(tariff) << tariff.error().message;
  EXPECT_EQ(estimateUnits(*tariff, 100, 0, 23), 4000);
  EXPECT_EQ(estimateUnits(*tariff, 100, 0, 3), 4000);
  EXPECT_EQ(estimateUnits(*tariff, 100, 0, 12), 2000);
  EXPECT_EQ(estimateUnits(*tariff, 100, 0, 20), 1000);
}

TEST(Tariff, RejectsSpecsThatDoNotMakeSense) {
  EXPECT_FALSE(parseTariff({{"kind", "single"}, {"rate", 0}}));
  EXPECT_FALSE(parseTariff({{"kind", "single"}, {"rate", 5.5}}));
  EXPECT_FALSE(parseTariff({{"kind", "flat"}}));
  EXPECT_FALSE(parseTariff(json::parse(R"({"kind":"tiered","tiers":[{"up_to":200,"rate":5},{"up_to":100,"rate":6},{"rate":7}]})")));
  EXPECT_FALSE(parseTariff(json::parse(R"({"kind":"tiered","tiers":[{"rate":5},{"up_to":100,"rate":6}]})")));
  EXPECT_FALSE(parseTariff(json::parse(R"({"kind":"tiered","tiers":[{"up_to":100,"rate":6}]})")));
  // Overlapping and missing hours.
  EXPECT_FALSE(parseTariff(json::parse(R"({"kind":"time_of_use","bands":[{"name":"flat","from":0,"to":24,"rate":5},{"name":"peak","from":8,"to":9,"rate":9}]})")));
  EXPECT_FALSE(parseTariff(json::parse(R"({"kind":"time_of_use","bands":[{"name":"flat","from":0,"to":23,"rate":5}]})")));
  EXPECT_TRUE(parseTariff(json::parse(R"({"kind":"time_of_use","bands":[{"name":"flat","from":0,"to":24,"rate":5}]})")));
}

class FixedFormat final : public CardFormat {
 public:
  CloudResult<std::string> mintToken(const TokenFields& fields) override {
    ++minted;
    return fields.meterNumber + ":" + std::to_string(fields.sequence);
  }
  CloudResult<json> creditWriteScript(const std::string&, const std::string&, const std::string&) override {
    return json::object();
  }
  CloudResult<MeterReturn> verifyReturn(const std::string&, std::int64_t) override {
    return failWith(CloudError::BadReturnData, "not in this test");
  }
  std::string newDeliveryNonce() override { return "nonce-" + std::to_string(++nonces); }
  // Accepts "signed:<token>:<nonce>" from the card whose key is "key-200".
  CloudResult<void> verifyDelivery(const DeliveryClaim& claim) override {
    if (claim.cardPublicKey == "key-" + claim.cardNumber &&
        claim.proof.cardSignature == "signed:" + claim.tokenHex + ":" + claim.nonceHex) {
      return {};
    }
    return failWith(CloudError::DeliveryUnproven, "not proven");
  }
  int minted = 0;
  int nonces = 0;
};

class StoreStates : public ::testing::Test {
 protected:
  void SetUp() override {
    m_db = openDatabase("sqlite::memory:", 1);
    ASSERT_TRUE(migrate(*m_db));
    m_store = std::make_unique<Store>(*m_db);
    ASSERT_TRUE(m_store->createAccount(
        {.id = "A1", .resident = "R", .building = "B", .room = "1", .household = "H"}, 0));
    ASSERT_TRUE(m_store->createMeter({.number = "100", .accountId = "A1", .utility = "water"}, 0));
    ASSERT_TRUE(m_store->createCard(
        {.number = "200", .kind = "resident", .accountId = "A1", .meterNumber = "100", .publicKey = "key-200"}, 0));
    ASSERT_TRUE(m_store->createKiosk({.id = "K1", .secret = protocol::randomHex(32)}, 0));
  }
  Order create(const std::string& key, std::int64_t now = 1000) {
    CreateOrderRequest request{"K1", key, "200", 500, "0011223344556677", key, "sim", 100, 1000, 60};
    auto created = m_store->createOrder(request, now);
    EXPECT_TRUE(created) << created.error().message;
    return created->order;
  }
  std::unique_ptr<Database> m_db;
  std::unique_ptr<Store> m_store;
};

TEST_F(StoreStates, StatesOnlyMoveForward) {
  const auto order = create("a");
  EXPECT_FALSE(m_store->transition(order.id, state::kPaid, state::kTokenIssued, "", 1001));
  ASSERT_TRUE(m_store->recordPayment({"e1", order.id, "sim", "SUCCESS", 500}, 1002));
  EXPECT_EQ(m_store->order(order.id)->state, state::kPaid);
  auto back = m_store->transition(order.id, state::kCreated, state::kCanceled, "", 1003);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().error, CloudError::InvalidState);
  FixedFormat format;
  auto token = m_store->issueToken(order.id, format, 1004);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->sequence, 1);
  EXPECT_EQ(token->deliveryNonce, "nonce-1");
  auto again = m_store->issueToken(order.id, format, 1005);
  EXPECT_EQ(again->tokenHex, "100:1");
  EXPECT_EQ(again->deliveryNonce, "nonce-1");
  EXPECT_EQ(format.minted, 1);
  // No refund once a token exists.
  EXPECT_FALSE(m_store->requestRefund(order.id, 1006));
  // The proof is checked against the token, the order's nonce and the card's registered key.
  EXPECT_EQ(m_store->confirmDelivery(order.id, 1, {"signed:100:1:nonce-2", ""}, format, 1007).error().error,
            CloudError::DeliveryUnproven);
  EXPECT_EQ(m_store->order(order.id)->state, state::kTokenIssued);
  ASSERT_TRUE(m_store->confirmDelivery(order.id, 1, {"signed:100:1:nonce-1", ""}, format, 1007));
  EXPECT_EQ(m_store->confirmDelivery(order.id, 1, {"signed:100:1:nonce-1", ""}, format, 1008).error().error,
            CloudError::AlreadyDelivered);
}

TEST_F(StoreStates, ExpiryTouchesOnlyWaitingOrdersPastTheirTime) {
  const auto waiting = create("w", 1000);
  const auto paid = create("p", 1000);
  ASSERT_TRUE(m_store->recordPayment({"e2", paid.id, "sim", "SUCCESS", 500}, 1010));
  EXPECT_TRUE(m_store->expireOrders(1059)->empty());
  auto expired = m_store->expireOrders(1060);
  ASSERT_EQ(expired->size(), 1U);
  EXPECT_EQ(expired->front(), waiting.id);
  EXPECT_EQ(m_store->order(paid.id)->state, state::kPaid);
}

TEST_F(StoreStates, PaymentOfTheWrongAmountIsNotCredited) {
  const auto order = create("m");
  auto result = m_store->recordPayment({"e3", order.id, "sim", "SUCCESS", 499}, 1001);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->outcome, PaymentOutcome::AmountMismatch);
  EXPECT_EQ(m_store->order(order.id)->state, state::kCreated);
  auto reconciled = m_store->reconciliation(1002);
  ASSERT_TRUE(reconciled);
  const auto report = reconciliationToJson(*reconciled);
  EXPECT_EQ(report["payments"]["amount_mismatch"]["amount"], 499);
  // The money is on its way back, and accounted for.
  EXPECT_EQ(report["money"]["refund_pending"], 499);
  EXPECT_TRUE(report["balanced"].get<bool>()) << report.dump();
}

}  // namespace
}  // namespace kiosk::cloud

namespace kiosk::cloud {
namespace {

// Of several sweepers, one holds each refund; a claim that is never finished (its process
// died) lapses, and only then may another sweeper ask the provider again.
TEST_F(StoreStates, ARefundIsClaimedByOneSweeperAndAgainOnlyWhenTheClaimLapses) {
  const auto order = create("r");
  ASSERT_TRUE(m_store->recordPayment({"e4", order.id, "sim", "SUCCESS", 500}, 1001));
  ASSERT_TRUE(m_store->requestRefund(order.id, 1002));
  auto first = m_store->claimRefunds("a", 1003, 60, 10);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->size(), 1U);
  EXPECT_EQ(first->front().id, order.id);
  EXPECT_TRUE(m_store->claimRefunds("b", 1004, 60, 10)->empty());
  EXPECT_TRUE(m_store->claimRefunds("b", 1062, 60, 10)->empty());
  // "a" never finished: at 1063 its claim has lapsed.
  auto retried = m_store->claimRefunds("b", 1063, 60, 10);
  ASSERT_EQ(retried->size(), 1U);
  auto late = m_store->finishRefund(order.id, "a", 1064);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().error, CloudError::InvalidState);
  auto done = m_store->finishRefund(order.id, "b", 1065);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->state, state::kRefunded);
  EXPECT_EQ(done->reason, "OPERATOR");
  EXPECT_TRUE(m_store->claimRefunds("c", 5000, 60, 10)->empty());

  // A claim given up after the provider failed is taken at the next sweep.
  const auto other = create("s");
  ASSERT_TRUE(m_store->recordPayment({"e5", other.id, "sim", "SUCCESS", 500}, 1101));
  ASSERT_TRUE(m_store->requestRefund(other.id, 1102));
  ASSERT_EQ(m_store->claimRefunds("a", 1103, 60, 10)->size(), 1U);
  EXPECT_TRUE(*m_store->releaseRefund(other.id, "a"));
  ASSERT_EQ(m_store->claimRefunds("b", 1104, 60, 10)->size(), 1U);
  auto reconciled = m_store->reconciliation(1105);
  ASSERT_TRUE(reconciled);
  const auto report = reconciliationToJson(*reconciled);
  EXPECT_TRUE(report["balanced"].get<bool>()) << report.dump();
}

}  // namespace
}  // namespace kiosk::cloud
