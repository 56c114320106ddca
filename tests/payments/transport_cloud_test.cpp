// The cloud client on libcurl against a real kiosk-cloud process: signed requests accepted,
// answers decoded, TLS verified against the operator's certificate, the public key pinned,
// and plain HTTP refused for a cloud that is not on this machine.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "tests/support/cloud_fixture.hpp"
#include "payments/cloud_client.hpp"
#include "payments/curl_transport.hpp"
#include "platform/temp_dir.hpp"
#include "protocol/signing.hpp"

namespace kiosk::payments::test {
namespace {

using cloud::test::CloudProcess;
using nlohmann::json;

constexpr const char* kCard = "8800000003";  // the demo water card: all of an amount is credit

std::unique_ptr<CurlTransport> transportFor(const std::string& url, CurlOptions options = {}) {
  options.baseUrl = url;
  auto transport = CurlTransport::create(options);
  EXPECT_TRUE(transport) << (transport ? "" : transport.error());
  return transport ? std::move(*transport) : nullptr;
}

TEST(CurlTransportConfig, RefusesPlainHttpToAnotherMachine) {
  for (const char* url : {"http://cloud.example.com", "http://10.0.0.5:8080", "ftp://127.0.0.1",
                          "https://cloud.example.com/api", "not a url"}) {
    CurlOptions options;
    options.baseUrl = url;
    EXPECT_FALSE(CurlTransport::create(options)) << url;
  }
  for (const char* url : {"https://cloud.example.com", "http://127.0.0.1:8080", "http://localhost:1/",
                          "http://[::1]:8080"}) {
    CurlOptions options;
    options.baseUrl = url;
    EXPECT_TRUE(CurlTransport::create(options)) << url;
  }
}

TEST(CurlTransportCloud, RunsAnOrderAgainstTheRealCloud) {
  CloudProcess cloud({});
  cloud.seedDemo();
  auto transport = transportFor(cloud.baseUrl());
  platform::SystemClock clock;
  CloudClient client(*transport, RequestSigner("kiosk-demo", CloudProcess::kKioskSecret, clock));

  auto summary = client.lookupCard(kCard);
  ASSERT_TRUE(summary) << describe(summary.error());
  ASSERT_TRUE(summary->meter);
  EXPECT_EQ(summary->meter->number, "52000001");
  EXPECT_EQ(summary->meter->utility, "water");

  const OrderRequest request{protocol::randomHex(8), kCard, 2000, "0102030405060708"};
  auto created = client.createOrder(request);
  ASSERT_TRUE(created) << describe(created.error());
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->order.state, OrderState::Created);
  EXPECT_EQ(created->order.credit, 2000);
  // The same key and body find the same order: a retry after a lost answer.
  auto again = client.createOrder(request);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->order.id, created->order.id);

  ASSERT_EQ(cloud::test::pressPayButton(cloud.port(), created->order.id, "pay").status, 200);
  auto paid = client.orderState(created->order.id, std::chrono::seconds(5), OrderState::Created);
  ASSERT_TRUE(paid) << describe(paid.error());
  EXPECT_EQ(paid->state, OrderState::Paid);

  auto script = client.fetchScript(created->order.id, kCard, "1122334455667788");
  ASSERT_TRUE(script) << describe(script.error());
  ScriptExpectation expect{created->order.id, 52000001, card::Utility::Water, 2000, std::nullopt};
  auto checked = checkScript(*script, expect);
  EXPECT_TRUE(checked) << checked.error().detail;
  auto second = client.fetchScript(created->order.id, kCard, "8877665544332211");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->issued.hex, script->issued.hex);  // one token per order

  EXPECT_EQ(second->issued.deliveryNonce, script->issued.deliveryNonce);
  EXPECT_EQ(script->issued.deliveryNonce.size(), 32U);

  // The proof here is the meter's: its RETURN shows the token loaded.
  card::ReturnRecord loaded;
  loaded.utility = card::Utility::Water;
  loaded.meterNumber = 52000001;
  loaded.lastSequence = script->issued.token.sequence;
  loaded.timestamp = clock.unixSeconds();
  card::sealReturn(loaded, card::deriveReturnKey(cloud.vendingKey(), 52000001, 1));
  const DeliveryProof proof{"", kiosk::toHex(card::encodeReturn(loaded))};
  auto delivered = client.confirmDelivery(created->order.id, kCard, script->issued.token.sequence, proof);
  ASSERT_TRUE(delivered) << describe(delivered.error());
  auto twice = client.confirmDelivery(created->order.id, kCard, script->issued.token.sequence, proof);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().error, PayError::AlreadyDelivered);

  auto config = client.fetchConfig("");
  ASSERT_TRUE(config) << describe(config.error());
  ASSERT_TRUE(config->has_value());
  auto unchanged = client.fetchConfig((*config)->etag);
  ASSERT_TRUE(unchanged);
  EXPECT_FALSE(unchanged->has_value());

  auto ack = client.uploadJournal({{1, "card.read", clock.unixSeconds(), R"({"card_number":"8800000003"})"},
                                   {2, "tx.paid", clock.unixSeconds(), "{}"}});
  ASSERT_TRUE(ack) << describe(ack.error());
  EXPECT_EQ(ack->lastSeq, 2);
  auto replay = client.uploadJournal({{2, "tx.paid", clock.unixSeconds(), "{}"}});
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->duplicates, 1);
}

TEST(CurlTransportCloud, WrongSecretIsUnauthorized) {
  CloudProcess cloud({});
  cloud.seedDemo();
  auto transport = transportFor(cloud.baseUrl());
  platform::SystemClock clock;
  CloudClient client(*transport, RequestSigner("kiosk-demo", "not-the-secret", clock));
  auto summary = client.lookupCard(kCard);
  ASSERT_FALSE(summary);
  EXPECT_EQ(summary.error().error, PayError::Unauthorized);
}

TEST(CurlTransportCloud, ADeadPortIsOffline) {
  auto transport = transportFor("http://127.0.0.1:" + std::to_string(cloud::test::freePort()));
  platform::SystemClock clock;
  CloudClient client(*transport, RequestSigner("kiosk-demo", "x", clock));
  auto summary = client.lookupCard(kCard);
  ASSERT_FALSE(summary);
  EXPECT_EQ(summary.error().error, PayError::Offline);
}

class TlsCloud : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = platform::makeTempDir("kiosk-payments-tls-");
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
        "-subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout " +
        (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    const std::string pin = "openssl x509 -in " + (dir / "cert.pem").string() +
                            " -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst "
                            "-sha256 -binary | openssl base64 -A > " + (dir / "pin").string();
    ASSERT_EQ(std::system(pin.c_str()), 0);
    std::ifstream(dir / "pin") >> pinned;
    CloudProcess::Options options;
    options.extraJson = json{{"tls_cert", (dir / "cert.pem").string()},
                             {"tls_key", (dir / "key.pem").string()}}.dump();
    cloud = std::make_unique<CloudProcess>(options);
    cloud->seedDemo();
    url = "https://localhost:" + std::to_string(cloud->port());
  }
  Result<CardSummary, PayFailure> lookup(CurlOptions options) {
    auto transport = transportFor(url, std::move(options));
    CloudClient client(*transport, RequestSigner("kiosk-demo", CloudProcess::kKioskSecret, clock));
    return client.lookupCard(kCard);
  }

  std::filesystem::path dir;
  std::string pinned;
  std::string url;
  std::unique_ptr<CloudProcess> cloud;
  platform::SystemClock clock;
};

TEST_F(TlsCloud, TrustsOnlyTheOperatorsCertificate) {
  CurlOptions trusted;
  trusted.caFile = (dir / "cert.pem").string();
  auto ok = lookup(trusted);
  ASSERT_TRUE(ok) << describe(ok.error());
  // A self-signed certificate the system does not know: refused, never "accepted anyway".
  auto unknown = lookup({});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().error, PayError::Tls);
}

TEST_F(TlsCloud, PinsTheCloudsPublicKey) {
  CurlOptions pinnedRight;
  pinnedRight.caFile = (dir / "cert.pem").string();
  pinnedRight.pinnedPublicKey = "sha256//" + pinned;
  auto ok = lookup(pinnedRight);
  ASSERT_TRUE(ok) << describe(ok.error());
  CurlOptions pinnedWrong = pinnedRight;
  pinnedWrong.pinnedPublicKey = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  auto refused = lookup(pinnedWrong);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().error, PayError::Tls);
}

}  // namespace
}  // namespace kiosk::payments::test
