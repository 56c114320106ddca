// The cloud client over an in-process transport: requests are signed exactly as kiosk-cloud
// verifies them, and every transport failure, HTTP status and cloud error code lands on one
// PayError.

#include <gtest/gtest.h>

#include <set>

#include "protocol/signing.hpp"
#include "cloud_json.hpp"
#include "fake_transport.hpp"
#include "payments/cloud_client.hpp"

namespace kiosk::payments::test {
namespace {

constexpr const char* kSecret = "0123456789abcdef0123456789abcdef";

std::string header(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return {};
}

class ClientTest : public ::testing::Test {
 protected:
  platform::ManualClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(1767225600))};
  FakeTransport transport;
  CloudClient client{transport, RequestSigner("kiosk-demo", kSecret, clock)};
};

TEST_F(ClientTest, SignsRequestsTheWayTheCloudVerifiesThem) {
  transport.reply("POST", "/v1/kiosk/orders", 201, orderJson(sampleOrder()).dump());
  transport.reply("GET", "/v1/kiosk/orders/", 200, orderJson(sampleOrder()).dump());
  ASSERT_TRUE(client.createOrder({"key-1", kCard, 5000, "0102030405060708"}));
  ASSERT_TRUE(client.orderState("ord_0123456789abcdef01234567", std::chrono::seconds(25),
                                OrderState::Created));
  std::set<std::string> nonces;
  for (const auto& request : transport.requests()) {
    EXPECT_EQ(header(request, "X-Kiosk-Id"), "kiosk-demo");
    EXPECT_EQ(header(request, "X-Timestamp"), "1767225600");
    const std::string nonce = header(request, "X-Nonce");
    EXPECT_GE(nonce.size(), 16U);
    EXPECT_LE(nonce.size(), 64U);
    nonces.insert(nonce);
    // kiosk-cloud's own verification code computes the same signature.
    const std::string expected = protocol::hmacSha256Hex(
        kSecret, protocol::canonicalRequest(request.method, request.target,
                                         header(request, "X-Timestamp"), nonce, request.body));
    EXPECT_EQ(header(request, "X-Signature"), expected) << request.target;
  }
  EXPECT_EQ(nonces.size(), transport.requests().size()) << "a nonce was reused";
}

TEST_F(ClientTest, TheSameOrderRequestAlwaysHasTheSameBody) {
  const OrderRequest request{"key-1", kCard, 5000, "0102030405060708"};
  EXPECT_EQ(CloudClient::orderBody(request), CloudClient::orderBody(request));
  EXPECT_EQ(CloudClient::orderBody(request),
            R"({"amount":5000,"card_number":"8600000000000001","challenge":"0102030405060708","idempotency_key":"key-1"})");
}

TEST_F(ClientTest, LongPollAsksTheCloudToWaitAndAllowsForIt) {
  transport.reply("GET", "/v1/kiosk/orders/", 200, orderJson(sampleOrder()).dump());
  ASSERT_TRUE(client.orderState("ord_0123456789abcdef01234567", std::chrono::seconds(25),
                                OrderState::Created));
  const auto request = transport.requests().back();
  EXPECT_EQ(request.target, "/v1/kiosk/orders/ord_0123456789abcdef01234567?wait=25&since=CREATED");
  EXPECT_GT(request.timeout, std::chrono::seconds(25));
}

TEST_F(ClientTest, MapsTransportFailures) {
  const std::vector<std::pair<CURLcode, PayError>> cases{
      {CURLE_COULDNT_CONNECT, PayError::Offline},
      {CURLE_COULDNT_RESOLVE_HOST, PayError::Offline},
      {CURLE_OPERATION_TIMEDOUT, PayError::Timeout},
      {CURLE_GOT_NOTHING, PayError::Interrupted},
      {CURLE_RECV_ERROR, PayError::Interrupted},
      {CURLE_PEER_FAILED_VERIFICATION, PayError::Tls},
      {CURLE_SSL_PINNEDPUBKEYNOTMATCH, PayError::Tls},
      {CURLE_ABORTED_BY_CALLBACK, PayError::Cancelled},
      {CURLE_WRITE_ERROR, PayError::BadResponse},
  };
  for (const auto& [code, expected] : cases) {
    transport.failWith("GET", "/v1/kiosk/cards/", code);
    auto result = client.lookupCard(kCard);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().error, expected) << curl_easy_strerror(code);
    EXPECT_EQ(result.error().httpStatus, 0);
  }
}

TEST_F(ClientTest, MapsCloudErrorsByCodeThenByStatus) {
  auto errorBody = [](const char* code) {
    return json{{"error", {{"code", code}, {"message", "m"}}}}.dump();
  };
  const std::vector<std::tuple<long, std::string, PayError>> cases{
      {401, errorBody("BAD_SIGNATURE"), PayError::Unauthorized},
      {401, errorBody("STALE_TIMESTAMP"), PayError::ClockSkew},
      {403, errorBody("CARD_BLOCKED"), PayError::CardBlocked},
      {403, errorBody("CARD_LOST"), PayError::CardBlocked},
      {404, errorBody("UNKNOWN_CARD"), PayError::UnknownCard},
      {409, errorBody("ALREADY_DELIVERED"), PayError::AlreadyDelivered},
      {409, errorBody("INVALID_STATE"), PayError::InvalidState},
      {422, errorBody("AMOUNT_OUT_OF_LIMITS"), PayError::AmountOutOfLimits},
      {503, errorBody("UNAVAILABLE"), PayError::Unavailable},
      {500, errorBody("CARD_FORMAT"), PayError::ServerError},
      {502, "<html>Bad Gateway</html>", PayError::Unavailable},
      {504, "", PayError::Unavailable},
      {500, "{not json", PayError::ServerError},
      {404, "", PayError::NotFound},
      {400, errorBody("SOMETHING_NEW"), PayError::Rejected},
      {302, "", PayError::BadResponse},
  };
  for (const auto& [status, body, expected] : cases) {
    transport.reply("GET", "/v1/kiosk/cards/", status, body);
    auto result = client.lookupCard(kCard);
    ASSERT_FALSE(result) << status << " " << body;
    EXPECT_EQ(result.error().error, expected) << status << " " << body;
    EXPECT_EQ(result.error().httpStatus, status);
  }
}

TEST_F(ClientTest, RefusesAnswersAboutSomethingElse) {
  transport.reply("GET", "/v1/kiosk/cards/", 200, cardSummaryJson("8600000000000099").dump());
  auto lookup = client.lookupCard(kCard);
  ASSERT_FALSE(lookup);
  EXPECT_EQ(lookup.error().error, PayError::BadResponse);

  cloud::Order other = sampleOrder();
  other.cardNumber = "8600000000000099";
  transport.reply("POST", "/v1/kiosk/orders", 201, orderJson(other).dump());
  auto created = client.createOrder({"key-2", kCard, 5000, "0102030405060708"});
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().error, PayError::BadResponse);

  transport.reply("GET", "/v1/kiosk/orders/", 200, orderJson(sampleOrder("ord_other")).dump());
  auto state = client.orderState("ord_mine");
  ASSERT_FALSE(state);
  EXPECT_EQ(state.error().error, PayError::BadResponse);
}

TEST_F(ClientTest, ConfigIsDownloadedOnlyWhenItChanged) {
  transport.on("GET", "/v1/kiosk/config", [](const HttpRequest& request) -> Result<HttpResponse, TransportFailure> {
    for (const auto& [name, value] : request.headers) {
      if (name == "If-None-Match" && value == "\"v1\"") return HttpResponse{304, {{"etag", "\"v1\""}}, ""};
    }
    return HttpResponse{200, {{"etag", "\"v1\""}}, configJson().dump()};
  });
  auto first = client.fetchConfig("");
  ASSERT_TRUE(first) << describe(first.error());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->etag, "\"v1\"");
  EXPECT_EQ((*first)->config.maxAmount, 50000);
  auto second = client.fetchConfig("\"v1\"");
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->has_value());
}

TEST_F(ClientTest, JournalAcknowledgementMustCoverTheBatch) {
  transport.reply("POST", "/v1/kiosk/journal", 200, R"({"accepted":1,"duplicates":0,"last_seq":1})");
  auto ack = client.uploadJournal({{1, "card.read", 1767225600, "{}"}, {2, "tx.paid", 1767225601, "{}"}});
  ASSERT_FALSE(ack);
  EXPECT_EQ(ack.error().error, PayError::BadResponse);
  transport.reply("POST", "/v1/kiosk/journal", 200, R"({"accepted":1,"duplicates":1,"last_seq":2})");
  EXPECT_TRUE(client.uploadJournal({{1, "card.read", 1767225600, "{}"}, {2, "tx.paid", 1767225601, "{}"}}));
  const auto body = json::parse(transport.requests().back().body);
  ASSERT_EQ(body["events"].size(), 2U);
  EXPECT_EQ(body["events"][1]["seq"], 2);
  EXPECT_EQ(body["events"][1]["type"], "tx.paid");
}

TEST_F(ClientTest, DeliveryMustComeBackDelivered) {
  transport.reply("POST", "/v1/kiosk/orders/", 200,
                  orderJson(sampleOrder("ord_0123456789abcdef01234567", "TOKEN_ISSUED")).dump());
  auto confirmed = client.confirmDelivery("ord_0123456789abcdef01234567", kCard, 9, {"3045", ""});
  ASSERT_FALSE(confirmed);
  EXPECT_EQ(confirmed.error().error, PayError::BadResponse);
}

}  // namespace
}  // namespace kiosk::payments::test
