// The kiosk-cloud contract both sides link: signing against fixed vectors (RFC 4231, docs/api.md),
// the id and string rule, order state names, paths and masking.

#include "protocol/card_summary.hpp"
#include "protocol/kiosk_config.hpp"
#include "protocol/masking.hpp"
#include "protocol/orders.hpp"
#include "protocol/paths.hpp"
#include "protocol/signing.hpp"
#include "protocol/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace kiosk::protocol {
namespace {

TEST(Signing, KnownVectors) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // PBKDF2-HMAC-SHA256("password", "salt", 1).
  EXPECT_EQ(pbkdf2Hex("password", "73616c74", 1),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
  EXPECT_EQ(pbkdf2Hex("password", "not hex", 1), "");
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(canonicalRequest("GET", "/v1/kiosk/config", "1700000000", "abc", ""),
            "GET\n/v1/kiosk/config\n1700000000\nabc\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_TRUE(constantTimeEqual("abc", "abc"));
  EXPECT_FALSE(constantTimeEqual("abc", "abd"));
  EXPECT_FALSE(constantTimeEqual("abc", "ab"));
  EXPECT_NE(randomHex(16), randomHex(16));
  EXPECT_EQ(randomHex(16).size(), 32U);
}

// docs/api.md, "Signing": the worked example, computed there with openssl dgst.
TEST(Signing, TheWorkedExampleOfTheApiDocument) {
  const std::string body =
      R"({"amount":2000,"card_number":"3101000012345678","challenge":"0102030405060708","idempotency_key":"k1"})";
  const std::string canonical =
      canonicalRequest("POST", "/v1/kiosk/orders", "1767225600", "0123456789abcdef0123456789abcdef", body);
  EXPECT_EQ(canonical,
            "POST\n/v1/kiosk/orders\n1767225600\n0123456789abcdef0123456789abcdef\n"
            "4e635907155a646820c647efaa62ede5c035302ec837f33588f00b2fe75b5a6d");
  EXPECT_EQ(requestSignature("kiosk-secret-0001", "POST", "/v1/kiosk/orders", "1767225600",
                             "0123456789abcdef0123456789abcdef", body),
            "2bc160b8ff6bb36fed979acb43a02ac1c5cee0e3b209e263d18ae073f631cda3");
  EXPECT_EQ(std::string(kKioskIdHeader) + kTimestampHeader + kNonceHeader + kSignatureHeader,
            "X-Kiosk-IdX-TimestampX-NonceX-Signature");
}

TEST(Text, IdsAndStringsFollowOneRule) {
  EXPECT_TRUE(isText("kiosk-1 大堂"));
  EXPECT_FALSE(isText(std::string("a\0b", 3)));
  EXPECT_FALSE(isText("tab\there"));
  EXPECT_FALSE(isText("\xff\xfe"));
  EXPECT_FALSE(isText("\xc0\xaf"));  // an overlong '/'
  EXPECT_TRUE(isId("kiosk_1"));
  EXPECT_FALSE(isId(""));
  EXPECT_FALSE(isId(std::string(65, 'k')));
  EXPECT_TRUE(isId(std::string(64, 'k')));
  EXPECT_TRUE(isId("ACC-1001.b_2"));
  for (const char* bad : {"kiosk 3", "kiosk/3", "kiosk%203", "大堂", "kiosk\n"}) {
    EXPECT_FALSE(isId(bad)) << bad;
  }
  // Marks that reorder text when shown are not text either.
  EXPECT_FALSE(isText("abc\xE2\x80\xAE" "def"));  // U+202E RIGHT-TO-LEFT OVERRIDE
  EXPECT_FALSE(isText("a\xE2\x81\xA6" "b"));     // U+2066 LEFT-TO-RIGHT ISOLATE
  EXPECT_FALSE(isText("a\xC2\x85" "b"));          // U+0085 NEXT LINE (C1)
  EXPECT_TRUE(isText("Zhang Wei \xE5\xBC\xA0\xE4\xBC\x9F"));
  EXPECT_EQ(forLog("a\x01" "b"), "a\\x01b");
  EXPECT_EQ(forLog(std::string(10, 'x'), 4), "xxxx...");
}

TEST(Orders, StateNamesRoundTrip) {
  for (const char* name : {state::kCreated, state::kPaid, state::kTokenIssued, state::kDelivered,
                           state::kExpired, state::kCanceled, state::kRefundPending,
                           state::kRefunded}) {
    const auto parsed = orderStateFromString(name);
    ASSERT_TRUE(parsed) << name;
    EXPECT_EQ(toString(*parsed), name);
    EXPECT_TRUE(isKnownState(name));
  }
  EXPECT_FALSE(orderStateFromString("paid"));
  EXPECT_FALSE(isKnownState("SETTLED"));
  EXPECT_TRUE(isFinalState("DELIVERED"));
  EXPECT_TRUE(isFinalState("REFUNDED"));
  EXPECT_FALSE(isFinalState("REFUND_PENDING"));
  EXPECT_FALSE(isFinalState("nonsense"));
  EXPECT_TRUE(awaitsDelivery(OrderState::TokenIssued));
  EXPECT_FALSE(awaitsDelivery(OrderState::Delivered));
}

TEST(Paths, TargetsTheKioskBuilds) {
  EXPECT_EQ(cardPath("3101000012345678"), "/v1/kiosk/cards/3101000012345678");
  EXPECT_EQ(orderPath("ord_1"), "/v1/kiosk/orders/ord_1");
  EXPECT_EQ(orderPath("ord_1", kScriptAction), "/v1/kiosk/orders/ord_1/script");
}

TEST(Masking, CardNumbersNamesAndAccounts) {
  EXPECT_EQ(maskCardNumber("3101000012345678"), "**** **** **** 5678");
  EXPECT_EQ(maskCardNumber("1234"), "1234");
  // Groups are counted from the end, so the last four digits always stay one group, whatever
  // the number's length (the demo cards have ten digits).
  EXPECT_EQ(maskCardNumber("8800000001"), "** **** 0001");
  EXPECT_EQ(maskCardNumber("31010000123456789"), "* **** **** **** 6789");
  EXPECT_EQ(maskCardNumber("12345"), "* 2345");
  EXPECT_EQ(maskName("张三丰"), "张**");
  EXPECT_EQ(maskName("Alice"), "A**");
  EXPECT_EQ(maskName(""), "");
  EXPECT_EQ(maskAccountId("acct-0001"), "ac*****01");
  EXPECT_EQ(maskAccountId("ab"), "**");
}

TEST(Text, NumbersOrderIdsNoncesAndHex) {
  EXPECT_TRUE(isNumber("8800000001"));
  EXPECT_TRUE(isNumber("1234567890123456789"));
  EXPECT_FALSE(isNumber("12345678901234567890"));  // 20 digits
  EXPECT_FALSE(isNumber(""));
  EXPECT_FALSE(isNumber("88 0001"));
  EXPECT_FALSE(isNumber("٣"));  // a digit, but not an ASCII one
  EXPECT_TRUE(isOrderId("ORD_20261207_0001"));
  EXPECT_FALSE(isOrderId("ORD-1"));
  EXPECT_FALSE(isOrderId(std::string(65, 'A')));
  EXPECT_TRUE(isNonce("0123456789abcdef"));
  EXPECT_FALSE(isNonce("0123456789abcde"));  // 15
  EXPECT_FALSE(isNonce("0123456789 abcdef"));
  EXPECT_TRUE(isHexOf("00ffAA11", 8));
  EXPECT_FALSE(isHexOf("00ffAA1g", 8));
  EXPECT_FALSE(isHexOf("00ff", 8));
}

KioskConfig sampleConfig() {
  KioskConfig config;
  config.kioskId = "kiosk-demo";
  config.location = "Lobby, building 3";
  config.building = "B3";
  config.minAmount = 1000;
  config.maxAmount = 100000;
  ConfigTariff flat;
  flat.id = "T-RES";
  flat.name = "Residential";
  flat.utility = "electricity";
  flat.spec = R"({"kind":"single","rate":56})";
  ConfigTariff tou;
  tou.id = "T-TOU";
  tou.name = "Time of use";
  tou.utility = "electricity";
  tou.spec = R"({"kind":"time_of_use","bands":[{"name":"peak","rate":90},{"name":"flat","rate":60}]})";
  config.tariffs = {flat, tou};
  config.blockedCards = {{"8800000004", "LOST"}};
  config.blockedCardsTotal = 1;
  StaffMember staff;
  staff.id = "S-1";
  staff.name = "Chen Jie";
  staff.pinSalt = "73616c74";
  staff.pinHash = "ab";
  staff.pinIterations = 1000;
  staff.cardNumber = "8800009001";
  config.staff = {staff};
  return config;
}

TEST(KioskConfigSchema, WhatTheCloudEncodesTheKioskDecodes) {
  auto document = encodeKioskConfig(sampleConfig());
  EXPECT_FALSE(document.contains("receipt_base_url"));
  setReceiptBaseUrl(document, "https://cloud.example/receipt/");
  const auto decoded = decodeKioskConfig(document);
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(decoded->kioskId, "kiosk-demo");
  EXPECT_EQ(decoded->minAmount, 1000);
  EXPECT_EQ(decoded->maxAmount, 100000);
  ASSERT_EQ(decoded->tariffs.size(), 2U);
  EXPECT_EQ(decoded->tariff("T-RES")->pricePerUnit, 56);
  EXPECT_EQ(decoded->tariff("T-TOU")->kind, "time_of_use");
  EXPECT_EQ(decoded->tariff("T-TOU")->pricePerUnit, 60);  // the flat band
  EXPECT_EQ(decoded->tariff("T-NONE"), nullptr);
  EXPECT_TRUE(decoded->blocked("8800000004"));
  EXPECT_FALSE(decoded->blocked("8800000001"));
  ASSERT_EQ(decoded->staff.size(), 1U);
  EXPECT_EQ(decoded->staff[0].pinAlgorithm, "PBKDF2-HMAC-SHA256");
  EXPECT_EQ(decoded->staff[0].cardNumber, "8800009001");
  EXPECT_EQ(decoded->receiptBaseUrl, "https://cloud.example/receipt/");
  // Encoding what was decoded gives the same document.
  EXPECT_EQ(encodeKioskConfig(*decoded), document);
}

TEST(KioskConfigSchema, TheServiceContactAndTimeZoneTravelWithTheConfig) {
  KioskConfig config = sampleConfig();
  config.service.phone = "400-820-1234";
  config.service.hours = "08:00-20:00";
  config.service.timeZone = "Asia/Shanghai";
  const auto document = encodeKioskConfig(config);
  const auto decoded = decodeKioskConfig(document);
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(decoded->service.phone, "400-820-1234");
  EXPECT_EQ(decoded->service.hours, "08:00-20:00");
  EXPECT_EQ(decoded->service.timeZone, "Asia/Shanghai");

  auto wrong = document;
  wrong["service"]["time_zone"] = "Mars/Olympus_Mons";
  const auto refused = decodeKioskConfig(wrong);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), "service.time_zone is not a known time zone");
}

TEST(KioskConfigSchema, TheFirstBadFieldIsNamed) {
  auto document = encodeKioskConfig(sampleConfig());
  document["tariffs"][1]["spec"]["bands"][0]["rate"] = 0;
  auto decoded = decodeKioskConfig(document);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), "tariffs[1].spec.bands[0].rate is out of range (0)");

  document = encodeKioskConfig(sampleConfig());
  document["blocked_cards"][0]["number"] = "88-04";
  decoded = decodeKioskConfig(document);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), "blocked_cards[0].number is not a card or meter number");

  document = encodeKioskConfig(sampleConfig());
  document["limits"]["min_amount"] = 200000;
  decoded = decodeKioskConfig(document);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), "limits.min_amount exceeds max_amount");

  setReceiptBaseUrl(document, "ftp://cloud.example/");
  document["limits"]["min_amount"] = 1000;
  decoded = decodeKioskConfig(document);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), "receipt_base_url is not an http(s) URL");
}

CardSummary sampleSummary() {
  CardSummary s;
  s.card = {"8800000001", "resident", "ACTIVE"};
  s.account = CardSummary::Account{"acct-1", "张*", "B1", "1201", "H1", "FEES_FIRST"};
  s.meter = CardSummary::Meter{"41000001", "water", "T-RES", 1,
                               CardSummary::Reading{1'790'000'000, 1234, 56, 0, 7}};
  s.fees = {{"fee-1", "property", "Nov", 3000}, {"fee-2", "rent", "", 500}};
  s.pending = {{"ord_pending1", 2000, OrderState::TokenIssued}};
  s.recent = {{"ord_recent1", 5000, 2000, OrderState::Delivered, 1'790'000'100}};
  return s;
}

TEST(CardSummarySchema, WhatTheCloudEncodesTheKioskDecodes) {
  const auto document = encodeCardSummary(sampleSummary());
  EXPECT_EQ(document["fees_total"], 3500);
  EXPECT_EQ(document["pending"][0]["state"], "TOKEN_ISSUED");
  const auto decoded = decodeCardSummary(document);
  ASSERT_TRUE(decoded) << decoded.error();
  ASSERT_TRUE(decoded->account && decoded->meter && decoded->meter->lastReading);
  EXPECT_EQ(decoded->account->resident, "张*");
  EXPECT_EQ(decoded->meter->utility, "water");
  EXPECT_EQ(decoded->meter->lastReading->lastSequence, 7);
  EXPECT_EQ(decoded->feesTotal(), 3500);
  ASSERT_EQ(decoded->pending.size(), 1U);
  EXPECT_EQ(decoded->pending[0].state, OrderState::TokenIssued);
  ASSERT_EQ(decoded->recent.size(), 1U);
  EXPECT_EQ(decoded->recent[0].state, OrderState::Delivered);
  EXPECT_EQ(encodeCardSummary(*decoded), document);

  CardSummary staff;
  staff.card = {"8800009001", "staff", "ACTIVE"};
  const auto staffDocument = encodeCardSummary(staff);
  EXPECT_FALSE(staffDocument.contains("account"));
  const auto staffDecoded = decodeCardSummary(staffDocument);
  ASSERT_TRUE(staffDecoded) << staffDecoded.error();
  EXPECT_FALSE(staffDecoded->account);
  EXPECT_FALSE(staffDecoded->meter);
}

TEST(CardSummarySchema, TheFirstBadFieldIsNamed) {
  auto document = encodeCardSummary(sampleSummary());
  document["recent"][0]["state"] = "LOST";
  auto decoded = decodeCardSummary(document);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), "recent[0].state is not a known order state (LOST)");

  document = encodeCardSummary(sampleSummary());
  document["meter"]["number"] = "41-01";
  decoded = decodeCardSummary(document);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), "meter.number is not a card or meter number");

  document = encodeCardSummary(sampleSummary());
  document["fees_total"] = 3000;
  decoded = decodeCardSummary(document);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error(), "fees_total differs from the sum of fees");
}

}  // namespace
}  // namespace kiosk::protocol
