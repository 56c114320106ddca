// Strict decoding of kiosk-cloud's answers: what the cloud's own serializers produce decodes;
// anything malformed, mistyped, missing or out of range is refused with the field named.

#include <gtest/gtest.h>

#include "cloud_json.hpp"
#include "payments/decode.hpp"

namespace kiosk::payments::test {
namespace {

template <class T>
void expectBad(const Decoded<T>& decoded, const std::string& mention) {
  ASSERT_FALSE(decoded) << "accepted";
  EXPECT_EQ(decoded.error().error, PayError::BadResponse);
  EXPECT_NE(decoded.error().detail.find(mention), std::string::npos)
      << "detail \"" << decoded.error().detail << "\" does not mention " << mention;
}

TEST(DecodeOrder, ReadsTheCloudsOwnOrderJson) {
  auto decoded = decodeOrder(orderJson(sampleOrder("ord_abc", "PAID", 5000, 1500)).dump());
  ASSERT_TRUE(decoded) << decoded.error().detail;
  EXPECT_EQ(decoded->id, "ord_abc");
  EXPECT_EQ(decoded->state, OrderState::Paid);
  EXPECT_EQ(decoded->amount, 5000);
  EXPECT_EQ(decoded->fees, 1500);
  EXPECT_EQ(decoded->credit, 3500);
  EXPECT_EQ(decoded->cardNumber, kCard);
  EXPECT_EQ(decoded->meterNumber, kMeter);
}

TEST(DecodeOrder, RefusesMalformedJson) {
  for (const char* body : {"", "{", "[]", "null", "42", "\"order\"", "{\"order_id\":}",
                           "<html>502 Bad Gateway</html>"}) {
    auto decoded = decodeOrder(body);
    ASSERT_FALSE(decoded) << body;
    EXPECT_EQ(decoded.error().error, PayError::BadResponse) << body;
  }
}

TEST(DecodeOrder, RefusesWrongTypes) {
  const json good = orderJson(sampleOrder());
  const std::vector<std::pair<std::string, json>> cases{
      {"amount", "5000"},       {"amount", 50.5},      {"amount", true},
      {"state", 1},             {"order_id", 12345},   {"split", "0/5000"},
      {"created_at", "today"},  {"card_number", 8600000000000001ULL},
      {"expires_at", nullptr},
  };
  for (const auto& [key, value] : cases) {
    json bad = good;
    bad[key] = value;
    expectBad(decodeOrder(bad.dump()), key);
  }
  json badSplit = good;
  badSplit["split"]["credit"] = "5000";
  expectBad(decodeOrder(badSplit.dump()), "split.credit");
}

TEST(DecodeOrder, RefusesEachMissingField) {
  const json good = orderJson(sampleOrder());
  for (const char* key : {"order_id", "kind", "kiosk_id", "card_number", "meter_number", "origin",
                          "amount", "split", "state", "created_at", "expires_at", "updated_at"}) {
    json bad = good;
    bad.erase(key);
    expectBad(decodeOrder(bad.dump()), key);
  }
  json noCredit = good;
  noCredit["split"].erase("credit");
  expectBad(decodeOrder(noCredit.dump()), "split.credit");
}

TEST(DecodeOrder, RefusesValuesOutOfRange) {
  const json good = orderJson(sampleOrder());
  auto with = [&](const std::string& key, const json& value) {
    json bad = good;
    bad[key] = value;
    return bad.dump();
  };
  expectBad(decodeOrder(with("amount", 0)), "amount");
  expectBad(decodeOrder(with("amount", -100)), "amount");
  expectBad(decodeOrder(with("amount", 9223372036854775807LL)), "amount");
  expectBad(decodeOrder(with("state", "SHIPPED")), "state");
  expectBad(decodeOrder(with("kind", "GIFT_CARD")), "kind");
  expectBad(decodeOrder(with("order_id", "ord-1; DROP TABLE")), "order_id");
  expectBad(decodeOrder(with("card_number", "88000000A1")), "card_number");
  expectBad(decodeOrder(with("expires_at", 1767225000)), "expires_at");
  json split = good;
  split["split"] = {{"fees", 100}, {"credit", 5000}};  // more than the amount
  expectBad(decodeOrder(split.dump()), "split");
  json negative = good;
  negative["split"] = {{"fees", -100}, {"credit", 5100}};
  expectBad(decodeOrder(negative.dump()), "split.fees");
}

TEST(DecodeCreatedOrder, NeedsAPaymentUrlWhileWaiting) {
  json created = orderJson(sampleOrder(), false);
  created["fee_items"] = json::array();
  auto decoded = decodeCreatedOrder(created.dump());
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().detail.find("qr_url"), std::string::npos);
  created["qr_url"] = "javascript:alert(1)";
  EXPECT_FALSE(decodeCreatedOrder(created.dump()));
  created["qr_url"] = "https://pay.example.com/pay/ord_0123456789abcdef01234567";
  auto ok = decodeCreatedOrder(created.dump());
  ASSERT_TRUE(ok) << ok.error().detail;
  EXPECT_EQ(ok->order.qrUrl, "https://pay.example.com/pay/ord_0123456789abcdef01234567");
}

TEST(DecodeCreatedOrder, IsACardTopUpAndNothingElse) {
  json created = orderJson(sampleOrder());
  created["fee_items"] = json::array();
  auto decoded = decodeCreatedOrder(created.dump());
  ASSERT_TRUE(decoded) << decoded.error().detail;
  EXPECT_EQ(decoded->order.kind, protocol::OrderKind::CardTopup);
  for (const char* other : {"STS_TOKEN", "BILL_PAYMENT"}) {
    created["kind"] = other;
    EXPECT_TRUE(decodeOrder(created.dump())) << other;  // a known kind, readable as an order
    expectBad(decodeCreatedOrder(created.dump()), "kind is not CARD_TOPUP");
  }
}

TEST(DecodeCardSummary, ReadsAResidentCard) {
  auto decoded = decodeCardSummary(cardSummaryJson().dump());
  ASSERT_TRUE(decoded) << decoded.error().detail;
  ASSERT_TRUE(decoded->meter);
  EXPECT_EQ(decoded->meter->number, kMeter);
  EXPECT_EQ(decoded->feesTotal(), 3500);
  ASSERT_EQ(decoded->pending.size(), 1U);
  EXPECT_EQ(decoded->pending[0].orderId, "ord_pending1");
  EXPECT_EQ(decoded->pending[0].credit, 2000);
  ASSERT_TRUE(decoded->meter->lastReading);
  EXPECT_EQ(decoded->meter->lastReading->remaining, 1234);
  ASSERT_EQ(decoded->recent.size(), 1U);
}

TEST(DecodeCardSummary, RefusesInconsistentOrMistypedSummaries) {
  json total = cardSummaryJson();
  total["fees_total"] = 100;
  EXPECT_FALSE(decodeCardSummary(total.dump()));
  json delivered = cardSummaryJson();
  delivered["pending"][0]["state"] = "DELIVERED";  // not credit waiting for the card
  EXPECT_FALSE(decodeCardSummary(delivered.dump()));
  json credit = cardSummaryJson();
  credit["pending"][0]["credit"] = "2000";
  auto decoded = decodeCardSummary(credit.dump());
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().detail.find("pending[0].credit"), std::string::npos)
      << decoded.error().detail;
  json utility = cardSummaryJson();
  utility["meter"]["utility"] = "gas";
  EXPECT_FALSE(decodeCardSummary(utility.dump()));
  json noMeter = cardSummaryJson();
  noMeter.erase("meter");
  EXPECT_FALSE(decodeCardSummary(noMeter.dump()));
}

TEST(DecodeCardSummary, AStaffCardNeedsNoAccount) {
  json staff{{"card", {{"number", "8800009001"}, {"kind", "staff"}, {"status", "ACTIVE"}}}};
  auto decoded = decodeCardSummary(staff.dump());
  ASSERT_TRUE(decoded) << decoded.error().detail;
  EXPECT_EQ(decoded->card.kind, "staff");
  EXPECT_FALSE(decoded->account);
}

class ScriptCheck : public ::testing::Test {
 protected:
  static constexpr const char* kOrder = "ord_script1";
  const std::string challenge = "0102030405060708";
  ScriptExpectation expectation() const {
    ScriptExpectation expect;
    expect.orderId = kOrder;
    expect.meterNumber = card::test::kMeterNumber;
    expect.utility = card::Utility::Electricity;
    expect.credit = 5000;
    return expect;
  }
  Result<void, PayFailure> check(const json& reply, const ScriptExpectation& expect) {
    auto decoded = decodeScriptReply(reply.dump());
    if (!decoded) return fail(decoded.error());
    return checkScript(*decoded, expect);
  }
};

TEST_F(ScriptCheck, AcceptsTheCloudsScriptForThisCardAndOrder) {
  auto decoded = decodeScriptReply(scriptJson(kOrder, 9, 5000, challenge).dump());
  ASSERT_TRUE(decoded) << decoded.error().detail;
  EXPECT_EQ(decoded->issued.token.sequence, 9U);
  EXPECT_EQ(decoded->issued.token.amount, 5000U);
  auto checked = checkScript(*decoded, expectation());
  EXPECT_TRUE(checked) << checked.error().detail;
}

TEST_F(ScriptCheck, RefusesATokenForAnotherMeter) {
  auto checked = check(scriptJson(kOrder, 9, 5000, challenge, 410000999999ULL), expectation());
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().error, PayError::BadResponse);
  EXPECT_NE(checked.error().detail.find("meter"), std::string::npos) << checked.error().detail;
}

TEST_F(ScriptCheck, RefusesAScriptMadeForAnotherCard) {
  // Another resident's card: its own meter, its own secure-messaging key.
  auto checked =
      check(scriptJson(kOrder, 9, 5000, challenge, 410000777777ULL, "8600000000000077"),
            expectation());
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().error, PayError::BadResponse);
}

TEST_F(ScriptCheck, RefusesAnotherAmountOrOrderOrASecondToken) {
  EXPECT_FALSE(check(scriptJson(kOrder, 9, 7000, challenge), expectation()));
  EXPECT_FALSE(check(scriptJson("ord_other", 9, 5000, challenge), expectation()));
  // The journal already holds token 9 for this order: token 10 would be a second credit.
  auto first = decodeScriptReply(scriptJson(kOrder, 9, 5000, challenge).dump());
  ASSERT_TRUE(first);
  ScriptExpectation again = expectation();
  again.tokenHex = first->issued.hex;
  EXPECT_TRUE(check(scriptJson(kOrder, 9, 5000, "1111111111111111"), again));
  auto second = check(scriptJson(kOrder, 10, 5000, challenge), again);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().detail.find("another token"), std::string::npos);
}

TEST_F(ScriptCheck, RefusesTokenFieldsThatDisagreeWithTheRecord) {
  json reply = scriptJson(kOrder, 9, 5000, challenge);
  reply["token"]["amount"] = 50000;
  EXPECT_FALSE(decodeScriptReply(reply.dump()));
  json sequence = scriptJson(kOrder, 9, 5000, challenge);
  sequence["token"]["sequence"] = 10;
  EXPECT_FALSE(decodeScriptReply(sequence.dump()));
  json hex = scriptJson(kOrder, 9, 5000, challenge);
  hex["token"]["hex"] = "00";
  EXPECT_FALSE(decodeScriptReply(hex.dump()));
}

TEST_F(ScriptCheck, RefusesScriptsThatWouldWriteAnythingElse) {
  const json good = scriptJson(kOrder, 9, 5000, challenge);
  // A PARAMS write appended after the token.
  json extra = good;
  cloud::ProfileFormat format(card::test::kVendingKey, card::test::kSmMaster);
  auto params = card::buildParamsWriteScript(card::test::kSmMaster, card::test::kCardNumber,
                                             *kiosk::fromHex(challenge), card::test::standardParams());
  ASSERT_TRUE(params);
  extra["script"]["steps"].push_back({{"apdu", kiosk::toHex(params->steps[0].apdu)},
                                      {"expect_sw", "9000"}});
  EXPECT_FALSE(check(extra, expectation()));
  // The token's UPDATE aimed at another record than its sequence maps to.
  json record = good;
  std::string apdu = record["script"]["steps"][0]["apdu"];
  apdu.replace(4, 2, "05");
  record["script"]["steps"][0]["apdu"] = apdu;
  EXPECT_FALSE(check(record, expectation()));
  // A read-back that expects nothing.
  json readBack = good;
  readBack["script"]["steps"][1].erase("expect_record");
  EXPECT_FALSE(check(readBack, expectation()));
  // Only the PARAMS write in place of the token.
  json swapped = good;
  swapped["script"]["steps"][0]["apdu"] = kiosk::toHex(params->steps[0].apdu);
  EXPECT_FALSE(check(swapped, expectation()));
}

TEST(DecodeConfig, ReadsLimitsTariffsBlockedCardsAndStaff) {
  auto decoded = decodeKioskConfig(configJson().dump());
  ASSERT_TRUE(decoded) << decoded.error().detail;
  EXPECT_EQ(decoded->minAmount, 100);
  EXPECT_EQ(decoded->maxAmount, 50000);
  ASSERT_NE(decoded->tariff("res-single"), nullptr);
  EXPECT_EQ(decoded->tariff("res-single")->pricePerUnit, 56);
  EXPECT_EQ(decoded->tariff("res-tiered")->pricePerUnit, 56);
  EXPECT_EQ(decoded->tariff("res-tou")->pricePerUnit, 59);
  EXPECT_TRUE(decoded->blocked("8800000009"));
  EXPECT_FALSE(decoded->blocked("8800000001"));
  ASSERT_EQ(decoded->staff.size(), 1U);
  EXPECT_FALSE(decoded->staff[0].cardNumber);
}

TEST(DecodeConfig, RefusesBrokenConfigs) {
  json limits = configJson();
  limits["limits"]["min_amount"] = 60000;
  EXPECT_FALSE(decodeKioskConfig(limits.dump()));
  json tariff = configJson();
  tariff["tariffs"][0]["spec"]["kind"] = "mystery";
  EXPECT_FALSE(decodeKioskConfig(tariff.dump()));
  json blocked = configJson();
  blocked["blocked_cards"] = {{{"number", 42}}};
  EXPECT_FALSE(decodeKioskConfig(blocked.dump()));
}

TEST(DecodeAcks, JournalAndReadingAnswers) {
  auto ack = decodeJournalAck(R"({"accepted":3,"duplicates":1,"last_seq":17})");
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->lastSeq, 17);
  EXPECT_FALSE(decodeJournalAck(R"({"accepted":3,"duplicates":1})"));
  EXPECT_FALSE(decodeJournalAck(R"({"accepted":-1,"duplicates":1,"last_seq":17})"));
  EXPECT_TRUE(decodeReadingAck(R"({"stored":true,"tokens_loaded":1,"reading":{}})"));
  EXPECT_FALSE(decodeReadingAck(R"({"stored":"yes","tokens_loaded":1})"));
}

}  // namespace
}  // namespace kiosk::payments::test
