// The kiosk API over real HTTP against a real kiosk-cloud process, on SQLite and on a
// PostgreSQL server the fixture starts itself.

#include "tests/support/cloud_fixture.hpp"

#include "platform/bytes.hpp"
#include "card/profile.hpp"
#include "card/write_script.hpp"
#include "protocol/signing.hpp"
#include "protocol/text.hpp"
#include "card/crypto.hpp"
#include "cloud/db.hpp"
#include "payments/decode.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <thread>
#include <tuple>

namespace kiosk::cloud::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kCard = "8800000003";      // water, CREDIT_ONLY: the whole amount is credit
constexpr const char* kFeeCard = "8800000001";   // FEES_FIRST with 35.00 owed
constexpr const char* kKiosk = "kiosk-demo";

class CloudApiTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { start({}); }

  void start(CloudProcess::Options options) {
    if (GetParam() == Backend::Postgres) options.database = PgServer::instance().createDatabase();
    m_cloud = std::make_unique<CloudProcess>(options);
    m_cloud->seedDemo();
    m_kiosk = std::make_unique<KioskClient>(m_cloud->port(), kKiosk, CloudProcess::kKioskSecret);
    m_admin = std::make_unique<AdminClient>(m_cloud->port());
  }

  Reply createOrder(const std::string& card, std::int64_t amount, const std::string& key = "") {
    return m_kiosk->post("/v1/kiosk/orders", {{"idempotency_key", key.empty() ? protocol::randomHex(8) : key},
                                              {"card_number", card},
                                              {"amount", amount},
                                              {"challenge", randomChallenge()}});
  }
  std::string newOrder(const std::string& card = kCard, std::int64_t amount = 2000) {
    auto reply = createOrder(card, amount);
    EXPECT_EQ(reply.status, 201) << reply.text;
    return reply.body.value("order_id", "");
  }
  Reply state(const std::string& id, int wait = 0, const std::string& since = "") {
    std::string target = "/v1/kiosk/orders/" + id;
    if (wait > 0) target += "?wait=" + std::to_string(wait) + (since.empty() ? "" : "&since=" + since);
    return m_kiosk->get(target);
  }
  void pay(const std::string& id) {
    auto reply = pressPayButton(m_cloud->port(), id, "pay");
    ASSERT_EQ(reply.status, 200) << reply.text;
  }
  Reply script(const std::string& id, const std::string& challenge, const std::string& card = kCard,
               KioskClient* client = nullptr) {
    return (client ? client : m_kiosk.get())
        ->post("/v1/kiosk/orders/" + id + "/script", {{"card_number", card}, {"challenge", challenge}});
  }
  Reply deliver(const std::string& id, std::int64_t sequence, const std::string& card = kCard,
                const json& proof = nullptr) {
    json body{{"card_number", card}, {"sequence", sequence}};
    if (!proof.is_null()) body["proof"] = proof;
    return m_kiosk->post("/v1/kiosk/orders/" + id + "/delivered", body);
  }
  // Issues the card as the virtual card holds it (`issue-card`, which registers its public
  // key) and returns the key the card signs with.
  card::EcKey issueCard(const std::string& number) {
    const auto out = m_cloud->dir() / ("cards-" + number);
    auto [rc, output] = m_cloud->runTool({"issue-card", "--card", number, "--out", out.string()});
    EXPECT_EQ(rc, 0) << output;
    std::ifstream in(out / ("card-" + number + ".json"));
    const json file = json::parse(in);
    const auto id = card::decodeIdFile(*kiosk::fromHex(file["id"].get<std::string>()));
    EXPECT_TRUE(id);
    auto key = card::EcKey::fromPrivateScalar(*kiosk::fromHex(file["card_private_key"].get<std::string>()),
                                              id->cardPublicKey);
    EXPECT_TRUE(key);
    return std::move(key).value();
  }
  // Waits (long poll) until the order leaves `from`.
  std::string awaitChange(const std::string& id, const std::string& from, int seconds = 10) {
    auto reply = state(id, seconds, from);
    return reply.body.value("state", "");
  }
  std::unique_ptr<KioskClient> secondKiosk() {
    auto created = m_admin->post("/v1/admin/kiosks", {{"id", "kiosk-b"}, {"location", "Building B"},
                                                      {"building", "B"}});
    EXPECT_EQ(created.status, 201) << created.text;
    return std::make_unique<KioskClient>(m_cloud->port(), "kiosk-b",
                                         created.body.value("secret", ""));
  }

  // The proof the card gives for the token of a /script answer: its signature of the token's
  // CREDIT record with the order's nonce (the card issued on first use).
  json cardProof(const Reply& scriptReply, const std::string& card = kCard);

  std::unique_ptr<CloudProcess> m_cloud;
  std::unique_ptr<KioskClient> m_kiosk;
  std::unique_ptr<AdminClient> m_admin;
  std::map<std::string, card::EcKey> m_cardKeys;
};

// What a card signs to prove a CREDIT record (docs/card-profile.md, "Delivery proof"), put
// together here byte by byte: "KIOSK-CARD-DELIVERY-v1" || card number (8) || record number (1)
// || the 32-byte record || the cloud's nonce.
kiosk::Bytes deliveryMessage(std::uint64_t cardNumber, std::uint8_t record, const std::string& recordHex,
                             const std::string& nonceHex) {
  const std::string domain = "KIOSK-CARD-DELIVERY-v1";
  kiosk::Bytes message(domain.begin(), domain.end());
  for (int shift = 56; shift >= 0; shift -= 8) message.push_back(static_cast<std::uint8_t>(cardNumber >> shift));
  message.push_back(record);
  const auto recordBytes = kiosk::fromHex(recordHex).value();
  const auto nonce = kiosk::fromHex(nonceHex).value();
  message.insert(message.end(), recordBytes.begin(), recordBytes.end());
  message.insert(message.end(), nonce.begin(), nonce.end());
  return message;
}

std::string signDelivery(const card::EcKey& key, std::uint64_t cardNumber, std::uint8_t record,
                         const std::string& recordHex, const std::string& nonceHex) {
  return kiosk::toHex(key.sign(deliveryMessage(cardNumber, record, recordHex, nonceHex)).value());
}

json CloudApiTest::cardProof(const Reply& scriptReply, const std::string& card) {
  auto known = m_cardKeys.find(card);
  if (known == m_cardKeys.end()) known = m_cardKeys.emplace(card, issueCard(card)).first;
  const auto& token = scriptReply.body["token"];
  const auto sequence = token["sequence"].get<std::uint32_t>();
  return {{"card_signature", signDelivery(known->second, std::stoull(card), card::creditRecordFor(sequence),
                                          token["hex"].get<std::string>(),
                                          scriptReply.body["delivery_nonce"].get<std::string>())}};
}

// Checks the write script the way the card will: the UPDATE carries the token, and its MAC
// verifies under the card's SM key for this challenge.
void expectScriptForCard(const json& script, const card::SymKey& smMaster, const std::string& cardNumber,
                         const std::string& challengeHex, const std::string& tokenHex) {
  ASSERT_TRUE(script.contains("steps")) << script.dump();
  const auto apdu = kiosk::fromHex(script["steps"][0]["apdu"].get<std::string>());
  ASSERT_TRUE(apdu);
  ASSERT_GE(apdu->size(), 5U + card::profile::kTokenSize + card::profile::kSmMacSize);
  const kiosk::ByteView bytes(*apdu);
  const auto plain = bytes.subspan(5, card::profile::kTokenSize);
  const auto mac = bytes.subspan(5 + card::profile::kTokenSize, card::profile::kSmMacSize);
  EXPECT_EQ(kiosk::toHex(plain), tokenHex);
  const auto key = card::deriveCardSmKey(smMaster, std::stoull(cardNumber));
  const auto expected = card::smMac(key, *kiosk::fromHex(challengeHex), bytes[0], bytes[1], bytes[2],
                                    bytes[3], plain);
  EXPECT_EQ(kiosk::toHex(mac), kiosk::toHex(expected));
}

TEST_P(CloudApiTest, FullOrderLifecycleWritesAVerifiableTokenAndBalances) {
  auto lookup = m_kiosk->get(std::string("/v1/kiosk/cards/") + kCard);
  ASSERT_EQ(lookup.status, 200) << lookup.text;
  EXPECT_EQ(lookup.body["meter"]["number"], "52000001");
  EXPECT_EQ(lookup.body["account"]["building"], "B");
  EXPECT_EQ(lookup.body["account"]["resident"], "W**");  // masked on the lobby screen

  auto created = createOrder(kCard, 2000);
  ASSERT_EQ(created.status, 201) << created.text;
  const std::string id = created.body["order_id"];
  EXPECT_EQ(created.body["state"], "CREATED");
  EXPECT_EQ(created.body["split"]["credit"], 2000);
  EXPECT_EQ(created.body["qr_url"], m_cloud->baseUrl() + "/pay/" + id);
  EXPECT_GT(created.body["expires_at"].get<std::int64_t>(), std::time(nullptr));

  pay(id);
  EXPECT_EQ(state(id).body["state"], "PAID");

  const std::string challenge = randomChallenge();
  auto written = script(id, challenge);
  ASSERT_EQ(written.status, 200) << written.text;
  const auto& token = written.body["token"];
  EXPECT_EQ(token["sequence"], 1);
  EXPECT_EQ(token["amount"], 2000);
  const auto decoded = card::decodeToken(*kiosk::fromHex(token["hex"].get<std::string>()));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->meterNumber, 52000001U);
  EXPECT_EQ(decoded->amount, 2000U);
  EXPECT_TRUE(card::verifyToken(*decoded, card::deriveTokenKey(m_cloud->vendingKey(), 52000001, 1)));
  EXPECT_FALSE(card::verifyToken(*decoded, card::deriveTokenKey(card::randomKey(), 52000001, 1)));
  expectScriptForCard(written.body["script"], m_cloud->smMasterKey(), kCard, challenge,
                      token["hex"].get<std::string>());

  auto done = deliver(id, 1, kCard, cardProof(written));
  ASSERT_EQ(done.status, 200) << done.text;
  EXPECT_EQ(done.body["state"], "DELIVERED");

  auto report = m_admin->get("/v1/admin/reconciliation");
  ASSERT_EQ(report.status, 200);
  EXPECT_TRUE(report.body["balanced"].get<bool>()) << report.text;
  EXPECT_EQ(report.body["money"]["received"], 2000);
  EXPECT_EQ(report.body["tokens"]["delivered"]["amount"], 2000);
}

TEST_P(CloudApiTest, LongPollAnswersAsSoonAsTheOrderIsPaid) {
  const std::string id = newOrder();
  const auto started = std::chrono::steady_clock::now();
  auto poll = std::async(std::launch::async, [&] {
    KioskClient client(m_cloud->port(), kKiosk, CloudProcess::kKioskSecret);
    return client.get("/v1/kiosk/orders/" + id + "?wait=20&since=CREATED");
  });
  std::this_thread::sleep_for(300ms);
  pay(id);
  const auto reply = poll.get();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(reply.body["state"], "PAID") << reply.text;
  EXPECT_LT(took, 3s);
}

TEST_P(CloudApiTest, WrongSignatureIsRejected) {
  auto reply = m_kiosk->send("GET", std::string("/v1/kiosk/cards/") + kCard, "", std::time(nullptr),
                             protocol::randomHex(16), "ffffffffffffffffffffffffffffffff");
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(reply.errorCode(), "BAD_SIGNATURE");
  // A body changed after signing fails too.
  const std::string nonce = protocol::randomHex(16);
  const auto ts = std::time(nullptr);
  const std::string body = R"({"idempotency_key":"a","card_number":"8800000003","amount":100,"challenge":"0011223344556677"})";
  const std::string signature = protocol::hmacSha256Hex(CloudProcess::kKioskSecret,
                                              protocol::canonicalRequest("POST", "/v1/kiosk/orders", std::to_string(ts), nonce, body));
  httplib::Client raw("127.0.0.1", m_cloud->port());
  auto tampered = raw.Post("/v1/kiosk/orders",
                           {{"X-Kiosk-Id", kKiosk}, {"X-Timestamp", std::to_string(ts)},
                            {"X-Nonce", nonce}, {"X-Signature", signature}},
                           R"({"idempotency_key":"a","card_number":"8800000003","amount":900,"challenge":"0011223344556677"})",
                           "application/json");
  ASSERT_TRUE(tampered);
  EXPECT_EQ(tampered->status, 401);
  EXPECT_NE(tampered->body.find("BAD_SIGNATURE"), std::string::npos);
  auto unsigned_ = raw.Get("/v1/kiosk/config");
  ASSERT_TRUE(unsigned_);
  EXPECT_EQ(unsigned_->status, 401);
  EXPECT_NE(unsigned_->body.find("UNAUTHORIZED"), std::string::npos);
}

TEST_P(CloudApiTest, ReplayedNonceIsRejected) {
  const std::string nonce = protocol::randomHex(16);
  const auto ts = std::time(nullptr);
  auto first = m_kiosk->send("GET", "/v1/kiosk/config", "", ts, nonce, CloudProcess::kKioskSecret);
  EXPECT_EQ(first.status, 200) << first.text;
  auto replay = m_kiosk->send("GET", "/v1/kiosk/config", "", ts, nonce, CloudProcess::kKioskSecret);
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(replay.errorCode(), "REPLAYED_NONCE");
}

// The order routes record their nonce inside the transaction that does the work: a replay is
// refused whether the first request succeeded or was refused, and of two copies sent at once
// exactly one does anything.
TEST_P(CloudApiTest, ReplayedOrderRequestsAreRefusedAndChangeNothing) {
  const auto ts = std::time(nullptr);
  auto sendTwice = [&](const std::string& target, const json& body) {
    const std::string nonce = protocol::randomHex(16);
    auto first = m_kiosk->send("POST", target, body.dump(), ts, nonce, CloudProcess::kKioskSecret);
    auto replay = m_kiosk->send("POST", target, body.dump(), ts, nonce, CloudProcess::kKioskSecret);
    EXPECT_EQ(replay.status, 401) << target << " " << replay.text;
    EXPECT_EQ(replay.errorCode(), "REPLAYED_NONCE") << target;
    return first;
  };
  const json order{{"idempotency_key", protocol::randomHex(8)}, {"card_number", kCard}, {"amount", 1500},
                   {"challenge", randomChallenge()}};
  auto created = sendTwice("/v1/kiosk/orders", order);
  ASSERT_EQ(created.status, 201) << created.text;
  const std::string id = created.body["order_id"];
  auto refused = sendTwice("/v1/kiosk/orders", {{"idempotency_key", protocol::randomHex(8)}, {"card_number", kCard},
                                                {"amount", 99}, {"challenge", randomChallenge()}});
  EXPECT_EQ(refused.errorCode(), "AMOUNT_OUT_OF_LIMITS");
  auto early = sendTwice("/v1/kiosk/orders/" + id + "/script",
                         {{"card_number", kCard}, {"challenge", randomChallenge()}});
  EXPECT_EQ(early.errorCode(), "INVALID_STATE");
  pay(id);
  auto written = sendTwice("/v1/kiosk/orders/" + id + "/script",
                           {{"card_number", kCard}, {"challenge", randomChallenge()}});
  ASSERT_EQ(written.status, 200) << written.text;
  auto delivered = sendTwice("/v1/kiosk/orders/" + id + "/delivered",
                             {{"card_number", kCard}, {"sequence", written.body["token"]["sequence"]},
                              {"proof", cardProof(written)}});
  EXPECT_EQ(delivered.status, 200) << delivered.text;

  // Two copies of one create request in flight together.
  const std::string nonce = protocol::randomHex(16);
  const std::string body = json{{"idempotency_key", protocol::randomHex(8)}, {"card_number", kCard},
                                {"amount", 1700}, {"challenge", randomChallenge()}}.dump();
  auto copy = [&] {
    KioskClient client(m_cloud->port(), kKiosk, CloudProcess::kKioskSecret);
    return client.send("POST", "/v1/kiosk/orders", body, ts, nonce, CloudProcess::kKioskSecret);
  };
  auto a = std::async(std::launch::async, copy);
  auto b = std::async(std::launch::async, copy);
  const auto ra = a.get();
  const auto rb = b.get();
  std::multiset<int> statuses{ra.status, rb.status};
  EXPECT_EQ(statuses, (std::multiset<int>{201, 401})) << ra.text << " / " << rb.text;

  auto orders = m_admin->get("/v1/admin/orders?kiosk=" + std::string(kKiosk));
  ASSERT_EQ(orders.status, 200) << orders.text;
  std::set<std::int64_t> amounts;
  for (const auto& o : orders.body["orders"]) amounts.insert(o["amount"].get<std::int64_t>());
  EXPECT_EQ(orders.body["orders"].size(), 2U) << orders.text;
  EXPECT_EQ(amounts, (std::set<std::int64_t>{1500, 1700}));
  EXPECT_EQ(state(id).body["state"], "DELIVERED");
}

TEST_P(CloudApiTest, StaleOrFutureTimestampIsRejected) {
  for (const std::int64_t skew : {-301, 400}) {
    auto reply = m_kiosk->send("GET", "/v1/kiosk/config", "", std::time(nullptr) + skew, protocol::randomHex(16),
                               CloudProcess::kKioskSecret);
    EXPECT_EQ(reply.status, 401) << skew;
    EXPECT_EQ(reply.errorCode(), "STALE_TIMESTAMP") << skew;
  }
  auto within = m_kiosk->send("GET", "/v1/kiosk/config", "", std::time(nullptr) - 200, protocol::randomHex(16),
                              CloudProcess::kKioskSecret);
  EXPECT_EQ(within.status, 200);
}

TEST_P(CloudApiTest, UnknownCardIsReported) {
  auto lookup = m_kiosk->get("/v1/kiosk/cards/1234567890");
  EXPECT_EQ(lookup.status, 404);
  EXPECT_EQ(lookup.errorCode(), "UNKNOWN_CARD");
  auto order = createOrder("1234567890", 1000);
  EXPECT_EQ(order.status, 404);
  EXPECT_EQ(order.errorCode(), "UNKNOWN_CARD");
}

TEST_P(CloudApiTest, BlockedAndLostCardsCannotBuy) {
  ASSERT_EQ(m_admin->post(std::string("/v1/admin/cards/") + kCard + "/status", {{"status", "BLOCKED"}}).status, 200);
  auto lookup = m_kiosk->get(std::string("/v1/kiosk/cards/") + kCard);
  EXPECT_EQ(lookup.status, 403);
  EXPECT_EQ(lookup.errorCode(), "CARD_BLOCKED");
  auto order = createOrder(kCard, 1000);
  EXPECT_EQ(order.status, 403);
  EXPECT_EQ(order.errorCode(), "CARD_BLOCKED");
  ASSERT_EQ(m_admin->post(std::string("/v1/admin/cards/") + kFeeCard + "/status", {{"status", "LOST"}}).status, 200);
  EXPECT_EQ(createOrder(kFeeCard, 1000).errorCode(), "CARD_LOST");
  auto config = m_kiosk->get("/v1/kiosk/config");
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(config.body["blocked_cards"].size(), 2U) << config.text;
}

TEST_P(CloudApiTest, AmountOutsideLimitsIsRefused) {
  for (const std::int64_t amount : {99, 0, -500, 50001}) {
    auto reply = createOrder(kCard, amount);
    EXPECT_EQ(reply.status, 422) << amount;
    EXPECT_EQ(reply.errorCode(), "AMOUNT_OUT_OF_LIMITS") << amount;
  }
  EXPECT_EQ(createOrder(kCard, 100).status, 201);
  EXPECT_EQ(createOrder(kCard, 50000).status, 201);
}

// A journal event whose data nests far deeper than any request: refused, and the service
// still answers (writing such a value back out used to take the process's stack).
TEST_P(CloudApiTest, ABodyNestedTooDeeplyIsRefusedAndTheServiceStaysUp) {
  const std::string data = std::string(150000, '[') + std::string(150000, ']');
  const std::string body = R"({"events": [{"seq": 1, "type": "card.read", "at": 1767225600, "data": )" +
                           data + "}]}";
  auto deep = m_kiosk->postRaw("/v1/kiosk/journal", body);
  EXPECT_EQ(deep.status, 400) << deep.text.substr(0, 200);
  EXPECT_EQ(deep.errorCode(), "MALFORMED_JSON");
  auto lookup = m_kiosk->get(std::string("/v1/kiosk/cards/") + kCard);
  EXPECT_EQ(lookup.status, 200) << lookup.text;
}

// The lobby screen shows a resident's first character whole, in any script.
TEST_P(CloudApiTest, ResidentNamesAreMaskedWholeCharacterFirst) {
  const std::vector<std::pair<std::string, std::string>> names{
      {"Иван Петров", "И**"}, {"\xF0\xA0\x80\x80 Lin", "\xF0\xA0\x80\x80**"}, {"王芳", "王**"}};
  int n = 0;
  for (const auto& [name, masked] : names) {
    const std::string suffix = std::to_string(n++);
    ASSERT_EQ(m_admin->post("/v1/admin/accounts", {{"id", "ACC-NAME-" + suffix}, {"resident", name},
                                                   {"building", "B"}, {"room", "1"}, {"household", "H"}})
                  .status, 201);
    ASSERT_EQ(m_admin->post("/v1/admin/meters", {{"number", "5300000" + suffix}, {"account_id", "ACC-NAME-" + suffix},
                                                 {"utility", "electricity"}, {"tariff_id", "res-single"}})
                  .status, 201);
    ASSERT_EQ(m_admin->post("/v1/admin/cards", {{"number", "880000770" + suffix}, {"kind", "resident"},
                                                {"account_id", "ACC-NAME-" + suffix},
                                                {"meter_number", "5300000" + suffix}})
                  .status, 201);
    auto lookup = m_kiosk->get("/v1/kiosk/cards/880000770" + suffix);
    ASSERT_EQ(lookup.status, 200) << name << ": " << lookup.text;
    EXPECT_EQ(lookup.body["account"]["resident"], masked);
  }
}

TEST_P(CloudApiTest, MalformedJsonAndMissingFieldsAreClearErrors) {
  auto broken = m_kiosk->postRaw("/v1/kiosk/orders", R"({"amount": 100,)");
  EXPECT_EQ(broken.status, 400);
  EXPECT_EQ(broken.errorCode(), "MALFORMED_JSON");
  auto array = m_kiosk->postRaw("/v1/kiosk/orders", "[1,2]");
  EXPECT_EQ(array.errorCode(), "MALFORMED_JSON");
  auto missing = m_kiosk->post("/v1/kiosk/orders", {{"card_number", kCard}, {"amount", 100}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.errorCode(), "BAD_REQUEST");
  auto floatAmount = m_kiosk->post("/v1/kiosk/orders", {{"idempotency_key", "k"}, {"card_number", kCard},
                                                        {"amount", 10.5}, {"challenge", randomChallenge()}});
  EXPECT_EQ(floatAmount.errorCode(), "BAD_REQUEST");
  auto badChallenge = m_kiosk->post("/v1/kiosk/orders", {{"idempotency_key", "k"}, {"card_number", kCard},
                                                         {"amount", 100}, {"challenge", "xyz"}});
  EXPECT_EQ(badChallenge.errorCode(), "BAD_CHALLENGE");
  auto journal = m_kiosk->post("/v1/kiosk/journal", {{"events", "nope"}});
  EXPECT_EQ(journal.errorCode(), "BAD_REQUEST");
}

TEST_P(CloudApiTest, AnotherKioskCannotTouchTheOrder) {
  const std::string id = newOrder();
  auto other = secondKiosk();
  auto read = other->get("/v1/kiosk/orders/" + id);
  EXPECT_EQ(read.status, 403);
  EXPECT_EQ(read.errorCode(), "FOREIGN_ORDER");
  auto cancel = other->post("/v1/kiosk/orders/" + id + "/cancel", json::object());
  EXPECT_EQ(cancel.errorCode(), "FOREIGN_ORDER");
  auto early = script(id, randomChallenge(), kCard, other.get());
  EXPECT_EQ(early.errorCode(), "FOREIGN_ORDER");
  EXPECT_EQ(state(id).body["state"], "CREATED");
}

// A stolen kiosk secret must not be able to mark a resident's credit delivered: the
// confirmation carries the card's own signature of the CREDIT record it holds and of the
// cloud's nonce, checked with the card's registered key. Anything less leaves the order
// TOKEN_ISSUED, its credit still owed to the card.
TEST_P(CloudApiTest, DeliveryIsConfirmedOnlyWithTheCardsSignature) {
  const card::EcKey cardKey = issueCard(kCard);
  const std::uint64_t number = std::stoull(kCard);
  const std::string id = newOrder();
  pay(id);
  auto written = script(id, randomChallenge());
  ASSERT_EQ(written.status, 200) << written.text;
  ASSERT_TRUE(written.body.contains("delivery_nonce")) << written.text;
  const std::string nonce = written.body["delivery_nonce"];
  ASSERT_TRUE(protocol::isHexOf(nonce, 32)) << nonce;
  const std::string tokenHex = written.body["token"]["hex"];
  const auto sequence = written.body["token"]["sequence"].get<std::int64_t>();
  const auto record = card::creditRecordFor(static_cast<std::uint32_t>(sequence));
  auto again = script(id, randomChallenge());
  EXPECT_EQ(again.body["delivery_nonce"], nonce) << "one nonce per order, like its token";

  auto refused = [&](const json& proof, const std::string& what) {
    auto reply = deliver(id, sequence, kCard, proof);
    EXPECT_EQ(reply.status, 422) << what << ": " << reply.text;
    EXPECT_EQ(reply.errorCode(), "DELIVERY_UNPROVEN") << what << ": " << reply.text;
    EXPECT_EQ(state(id).body["state"], "TOKEN_ISSUED") << what;
  };
  refused(nullptr, "no proof");
  refused(json::object(), "an empty proof");
  const auto stranger = card::EcKey::generate().value();
  refused({{"card_signature", signDelivery(stranger, number, record, tokenHex, nonce)}}, "another key");
  refused({{"card_signature", signDelivery(cardKey, number, record, tokenHex, protocol::randomHex(16))}},
          "another nonce");
  refused({{"card_signature", signDelivery(cardKey, number, record, std::string(64, '0'), nonce)}},
          "an empty record");
  refused({{"card_signature", signDelivery(cardKey, number, record % 8 + 1, tokenHex, nonce)}},
          "another record number");
  refused({{"card_signature", signDelivery(cardKey, number + 1, record, tokenHex, nonce)}},
          "another card number");
  refused({{"card_signature", "300602010102010"}}, "not hex");
  refused({{"card_signature", "3006020101020101"}}, "not a signature of anything");

  auto done = deliver(id, sequence, kCard, {{"card_signature", signDelivery(cardKey, number, record, tokenHex, nonce)}});
  ASSERT_EQ(done.status, 200) << done.text;
  EXPECT_EQ(done.body["state"], "DELIVERED");

  // A card whose key was never registered cannot prove anything.
  const std::string other = newOrder(kFeeCard, 5000);
  pay(other);
  auto otherScript = script(other, randomChallenge(), kFeeCard);
  ASSERT_EQ(otherScript.status, 200) << otherScript.text;
  auto unknown = deliver(other, otherScript.body["token"]["sequence"].get<std::int64_t>(), kFeeCard,
                         {{"card_signature",
                           signDelivery(stranger, std::stoull(kFeeCard), 1,
                                        otherScript.body["token"]["hex"].get<std::string>(),
                                        otherScript.body["delivery_nonce"].get<std::string>())}});
  EXPECT_EQ(unknown.errorCode(), "DELIVERY_UNPROVEN") << unknown.text;
  EXPECT_NE(unknown.errorMessage().find("no registered public key"), std::string::npos) << unknown.text;
}

// A card issued elsewhere gets its key registered by the operator, once: the same proof that
// was refused before is accepted after, and the key cannot be swapped for another.
TEST_P(CloudApiTest, AnOperatorRegistersTheKeyOfACardIssuedElsewhere) {
  const auto cardKey = card::EcKey::generate().value();
  const std::string id = newOrder(kFeeCard, 5000);
  pay(id);
  auto written = script(id, randomChallenge(), kFeeCard);
  ASSERT_EQ(written.status, 200) << written.text;
  const auto sequence = written.body["token"]["sequence"].get<std::uint32_t>();
  const json proof{{"card_signature",
                    signDelivery(cardKey, std::stoull(kFeeCard), card::creditRecordFor(sequence),
                                 written.body["token"]["hex"].get<std::string>(),
                                 written.body["delivery_nonce"].get<std::string>())}};
  EXPECT_EQ(deliver(id, sequence, kFeeCard, proof).errorCode(), "DELIVERY_UNPROVEN");

  const std::string target = std::string("/v1/admin/cards/") + kFeeCard + "/public_key";
  EXPECT_EQ(m_admin->post(target, {{"public_key", "04abcd"}}).errorCode(), "BAD_REQUEST");
  EXPECT_EQ(m_admin->post(target, json::object()).errorCode(), "BAD_REQUEST");
  EXPECT_EQ(m_admin->post("/v1/admin/cards/1234567/public_key",
                          {{"public_key", kiosk::toHex(cardKey.publicPoint())}}).status, 404);
  auto registered = m_admin->post(target, {{"public_key", kiosk::toHex(cardKey.publicPoint())}});
  ASSERT_EQ(registered.status, 200) << registered.text;
  EXPECT_EQ(m_admin->post(target, {{"public_key", kiosk::toHex(cardKey.publicPoint())}}).status, 200)
      << "the same key again changes nothing";
  const auto other = card::EcKey::generate().value();
  EXPECT_EQ(m_admin->post(target, {{"public_key", kiosk::toHex(other.publicPoint())}}).errorCode(), "CONFLICT");

  auto done = deliver(id, sequence, kFeeCard, proof);
  ASSERT_EQ(done.status, 200) << done.text;
  EXPECT_EQ(done.body["state"], "DELIVERED");
}

// The meter may load the token and free its record before the kiosk asks the card: then the
// meter's RETURN, MAC'd with the meter's own key and showing the token's sequence loaded, is
// the proof. A RETURN that does not show it, is from another meter or does not verify is not.
TEST_P(CloudApiTest, AMetersReturnShowingTheTokenLoadedProvesDelivery) {
  const std::string id = newOrder();
  pay(id);
  auto written = script(id, randomChallenge());
  ASSERT_EQ(written.status, 200) << written.text;
  const auto sequence = written.body["token"]["sequence"].get<std::uint32_t>();
  auto meterReturn = [&](std::uint64_t meter, std::uint32_t lastSequence, const card::SymKey& vending) {
    card::ReturnRecord record;
    record.utility = card::Utility::Water;
    record.meterNumber = meter;
    record.lastSequence = lastSequence;
    record.remainingCredit = 2000;
    record.timestamp = std::time(nullptr);
    card::sealReturn(record, card::deriveReturnKey(vending, meter, 1));
    return kiosk::toHex(card::encodeReturn(record));
  };
  auto refused = [&](const std::string& returnHex, const std::string& what) {
    auto reply = deliver(id, sequence, kCard, {{"meter_return", returnHex}});
    EXPECT_EQ(reply.status, 422) << what << ": " << reply.text;
    EXPECT_EQ(reply.errorCode(), "DELIVERY_UNPROVEN") << what << ": " << reply.text;
    EXPECT_EQ(state(id).body["state"], "TOKEN_ISSUED") << what;
  };
  refused(meterReturn(52000001, sequence - 1, m_cloud->vendingKey()), "the token not loaded yet");
  refused(meterReturn(52000001, sequence, card::randomKey()), "a forged MAC");
  refused(meterReturn(41000001, sequence, m_cloud->vendingKey()), "another meter");
  refused("0102", "not a RETURN");

  auto done = deliver(id, sequence, kCard, {{"meter_return", meterReturn(52000001, sequence, m_cloud->vendingKey())}});
  ASSERT_EQ(done.status, 200) << done.text;
  EXPECT_EQ(done.body["state"], "DELIVERED");
}

TEST_P(CloudApiTest, DoubleDeliveryConfirmationChangesNothing) {
  const std::string id = newOrder();
  pay(id);
  auto written = script(id, randomChallenge());
  ASSERT_EQ(written.status, 200) << written.text;
  const auto sequence = written.body["token"]["sequence"].get<std::int64_t>();
  const json proof = cardProof(written);
  EXPECT_EQ(deliver(id, sequence + 1, kCard, proof).errorCode(), "BAD_REQUEST");  // not this order's token
  ASSERT_EQ(deliver(id, sequence, kCard, proof).status, 200);
  auto again = deliver(id, sequence, kCard, proof);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.errorCode(), "ALREADY_DELIVERED");
  auto report = m_admin->get("/v1/admin/reconciliation");
  EXPECT_EQ(report.body["tokens"]["delivered"]["count"], 1);
  EXPECT_TRUE(report.body["balanced"].get<bool>()) << report.text;
}

TEST_P(CloudApiTest, WebhookWithBadSignatureIsRejected) {
  const std::string id = newOrder();
  httplib::Client raw("127.0.0.1", m_cloud->port());
  const std::string body = json{{"event_id", "evt-forged"}, {"order_id", id}, {"status", "SUCCESS"},
                                {"amount", 2000}}.dump();
  const std::string ts = std::to_string(std::time(nullptr));
  auto forged = raw.Post("/v1/payments/sim/notify",
                         {{"X-Provider-Timestamp", ts},
                          {"X-Provider-Signature", protocol::hmacSha256Hex("not-the-secret-at-all", ts + "\n" + body)}},
                         body, "application/json");
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
  EXPECT_NE(forged->body.find("BAD_SIGNATURE"), std::string::npos);
  auto unsigned_ = raw.Post("/v1/payments/sim/notify", body, "application/json");
  EXPECT_EQ(unsigned_->status, 401);
  EXPECT_EQ(state(id).body["state"], "CREATED");
  // The genuine signature is accepted, once.
  const std::string good = protocol::hmacSha256Hex(CloudProcess::kProviderSecret, ts + "\n" + body);
  auto real = raw.Post("/v1/payments/sim/notify", {{"X-Provider-Timestamp", ts}, {"X-Provider-Signature", good}},
                       body, "application/json");
  EXPECT_EQ(real->status, 200) << real->body;
  auto repeat = raw.Post("/v1/payments/sim/notify", {{"X-Provider-Timestamp", ts}, {"X-Provider-Signature", good}},
                         body, "application/json");
  EXPECT_NE(repeat->body.find("DUPLICATE"), std::string::npos);
  EXPECT_EQ(state(id).body["state"], "PAID");
  EXPECT_EQ(m_admin->get("/v1/admin/reconciliation").body["money"]["received"], 2000);
}

TEST_P(CloudApiTest, ConcurrentScriptFetchesMintOneToken) {
  const std::string id = newOrder();
  pay(id);
  constexpr int kFetchers = 12;
  std::vector<std::future<Reply>> replies;
  for (int i = 0; i < kFetchers; ++i) {
    replies.push_back(std::async(std::launch::async, [&] {
      KioskClient client(m_cloud->port(), kKiosk, CloudProcess::kKioskSecret);
      return client.post("/v1/kiosk/orders/" + id + "/script",
                         {{"card_number", kCard}, {"challenge", randomChallenge()}});
    }));
  }
  std::set<std::string> tokens;
  for (auto& f : replies) {
    auto reply = f.get();
    ASSERT_EQ(reply.status, 200) << reply.text;
    EXPECT_EQ(reply.body["token"]["sequence"], 1);
    tokens.insert(reply.body["token"]["hex"].get<std::string>());
  }
  EXPECT_EQ(tokens.size(), 1U);
  EXPECT_EQ(m_admin->get("/v1/admin/reconciliation").body["tokens"]["issued"]["count"], 1);
  // The meter's next order gets the next sequence.
  const std::string next = newOrder();
  pay(next);
  EXPECT_EQ(script(next, randomChallenge()).body["token"]["sequence"], 2);
}

TEST_P(CloudApiTest, IdempotencyKeyReturnsTheSameOrder) {
  auto first = createOrder(kCard, 1500, "key-1");
  ASSERT_EQ(first.status, 201);
  auto again = m_kiosk->post("/v1/kiosk/orders", {{"idempotency_key", "key-1"}, {"card_number", kCard},
                                                  {"amount", 1500}, {"challenge", randomChallenge()}});
  // A different challenge is a different body: the key was reused for another request.
  EXPECT_EQ(again.errorCode(), "IDEMPOTENCY_CONFLICT");
  const json body{{"idempotency_key", "key-2"}, {"card_number", kCard}, {"amount", 1500},
                  {"challenge", "0011223344556677"}};
  auto a = m_kiosk->post("/v1/kiosk/orders", body);
  auto b = m_kiosk->post("/v1/kiosk/orders", body);
  EXPECT_EQ(a.status, 201);
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(a.body["order_id"], b.body["order_id"]);
  EXPECT_EQ(m_admin->get("/v1/admin/orders").body["orders"].size(), 2U);
}

TEST_P(CloudApiTest, DeclineCancelsAndCancelStopsPayment) {
  const std::string declined = newOrder();
  ASSERT_EQ(pressPayButton(m_cloud->port(), declined, "decline").status, 200);
  auto s = state(declined).body;
  EXPECT_EQ(s["state"], "CANCELED");
  EXPECT_EQ(s["reason"], "DECLINED");

  const std::string canceled = newOrder();
  auto reply = m_kiosk->post("/v1/kiosk/orders/" + canceled + "/cancel", json::object());
  EXPECT_EQ(reply.body["state"], "CANCELED");
  EXPECT_EQ(script(canceled, randomChallenge()).errorCode(), "INVALID_STATE");
}

TEST_P(CloudApiTest, LatePaymentBecomesPendingCreditAnyKioskCanWrite) {
  const std::string id = newOrder(kCard, 3000);
  ASSERT_EQ(m_kiosk->post("/v1/kiosk/orders/" + id + "/cancel", json::object()).status, 200);
  // The resident's wallet took the money as the kiosk gave up: the provider says so.
  auto notified = notifyPaid(m_cloud->port(), id, 3000);
  ASSERT_EQ(notified.status, 200) << notified.text;
  EXPECT_EQ(state(id).body["state"], "CANCELED");
  auto other = secondKiosk();
  auto lookup = other->get(std::string("/v1/kiosk/cards/") + kCard);
  ASSERT_EQ(lookup.body["pending"].size(), 1U) << lookup.text;
  const std::string credit = lookup.body["pending"][0]["order_id"];
  EXPECT_EQ(lookup.body["pending"][0]["credit"], 3000);
  auto written = script(credit, randomChallenge(), kCard, other.get());
  ASSERT_EQ(written.status, 200) << written.text;
  EXPECT_EQ(written.body["token"]["amount"], 3000);
  auto report = m_admin->get("/v1/admin/reconciliation");
  EXPECT_TRUE(report.body["balanced"].get<bool>()) << report.text;
  EXPECT_EQ(report.body["money"]["received"], 3000);
}

TEST_P(CloudApiTest, ExpiredOrderPaidForABlockedCardIsRefunded) {
  m_cloud.reset();
  CloudProcess::Options options;
  options.orderTtlSeconds = 1;
  start(options);
  const std::string id = newOrder(kCard, 1200);
  EXPECT_EQ(awaitChange(id, "CREATED", 10), "EXPIRED");
  ASSERT_EQ(m_admin->post(std::string("/v1/admin/cards/") + kCard + "/status", {{"status", "BLOCKED"}}).status, 200);
  // The wallet took the money as the order expired: the provider says so.
  auto notified = notifyPaid(m_cloud->port(), id, 1200);
  ASSERT_EQ(notified.status, 200) << notified.text;
  json report = reconciliationOnceRefunded(*m_admin, 1200);
  EXPECT_EQ(report["money"]["refunded"], 1200) << report.dump();
  EXPECT_TRUE(report["balanced"].get<bool>()) << report.dump();
  EXPECT_EQ(report["orders"]["EXPIRED"]["count"], 1);
  EXPECT_EQ(report["orders"]["REFUNDED"]["count"], 1);
}

TEST_P(CloudApiTest, FeesOwedAreSettledFirstAndTheRestIsCredit) {
  auto created = createOrder(kFeeCard, 5000);
  ASSERT_EQ(created.status, 201) << created.text;
  EXPECT_EQ(created.body["split"]["fees"], 3500);
  EXPECT_EQ(created.body["split"]["credit"], 1500);
  EXPECT_EQ(created.body["fee_items"][0]["item"], "property");
  const std::string id = created.body["order_id"];
  pay(id);
  EXPECT_EQ(m_kiosk->get(std::string("/v1/kiosk/cards/") + kFeeCard).body["fees_total"], 0);
  auto written = script(id, randomChallenge(), kFeeCard);
  EXPECT_EQ(written.body["token"]["amount"], 1500);
  auto report = m_admin->get("/v1/admin/reconciliation").body;
  EXPECT_EQ(report["money"]["fees_settled"], 3500);
  EXPECT_TRUE(report["balanced"].get<bool>()) << report.dump();
}

TEST_P(CloudApiTest, JournalUploadIsIdempotentBySequence) {
  auto events = [](int from, int to) {
    json list = json::array();
    for (int s = from; s <= to; ++s) {
      list.push_back({{"seq", s}, {"type", "order_created"}, {"at", 1700000000 + s}, {"data", {{"n", s}}}});
    }
    return json{{"events", list}};
  };
  auto first = m_kiosk->post("/v1/kiosk/journal", events(1, 3));
  EXPECT_EQ(first.body["accepted"], 3);
  auto overlap = m_kiosk->post("/v1/kiosk/journal", events(2, 5));
  EXPECT_EQ(overlap.body["accepted"], 2);
  EXPECT_EQ(overlap.body["duplicates"], 2);
  EXPECT_EQ(overlap.body["last_seq"], 5);
}

TEST_P(CloudApiTest, ConfigCarriesTariffsStaffAndAnETag) {
  auto config = m_kiosk->get("/v1/kiosk/config");
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(config.body["tariffs"].size(), 4U);
  EXPECT_EQ(config.body["limits"]["max_amount"], 50000);
  const auto& staff = config.body["staff"][0];
  EXPECT_EQ(staff["pin"]["hash"], protocol::pbkdf2Hex("246810", staff["pin"]["salt"].get<std::string>(),
                                            staff["pin"]["iterations"].get<int>()));
  const std::string etag = httplib::detail::get_header_value(config.headers, "ETag", 0, "");
  ASSERT_FALSE(etag.empty());
  auto same = m_kiosk->get("/v1/kiosk/config", {{"If-None-Match", etag}});
  EXPECT_EQ(same.status, 304);
  ASSERT_EQ(m_admin->post(std::string("/v1/admin/cards/") + kCard + "/status", {{"status", "BLOCKED"}}).status, 200);
  auto changed = m_kiosk->get("/v1/kiosk/config", {{"If-None-Match", etag}});
  EXPECT_EQ(changed.status, 200);
}

TEST_P(CloudApiTest, MeterReadingsMarkTokensLoadedAndRaiseWarnings) {
  const std::string id = newOrder();
  pay(id);
  auto written = script(id, randomChallenge());
  ASSERT_EQ(written.status, 200);
  ASSERT_EQ(deliver(id, 1, kCard, cardProof(written)).status, 200);
  const auto returnKey = card::deriveReturnKey(m_cloud->vendingKey(), 52000001, 1);
  auto upload = [&](std::int64_t day, std::uint64_t consumption, std::uint8_t flags,
                    const card::SymKey& key) {
    card::ReturnRecord record;
    record.utility = card::Utility::Water;
    record.meterNumber = 52000001;
    record.lastSequence = 1;
    record.remainingCredit = 1000;
    record.consumption = consumption;
    record.timestamp = 1700000000 + day * 86400;
    record.flags = flags;
    card::sealReturn(record, key);
    return m_kiosk->post("/v1/kiosk/readings",
                         {{"card_number", kCard}, {"return", kiosk::toHex(card::encodeReturn(record))}});
  };
  auto forged = upload(0, 1000, 0, card::randomKey());
  EXPECT_EQ(forged.errorCode(), "BAD_RETURN_DATA");
  // Steady 1000 per day, then a day of 5000 (over 3x the median), then a tamper flag.
  std::uint64_t total = 0;
  for (int day = 0; day <= 4; ++day) {
    auto reply = upload(day, total, 0, returnKey);
    ASSERT_EQ(reply.status, 200) << reply.text;
    total += 1000;
  }
  total += 4000;
  ASSERT_EQ(upload(5, total, 0, returnKey).status, 200);
  ASSERT_EQ(upload(6, total + 1000, card::return_flags::kTamper, returnKey).status, 200);
  auto again = upload(6, total + 1000, card::return_flags::kTamper, returnKey);
  EXPECT_FALSE(again.body["stored"].get<bool>());
  auto warnings = m_admin->get("/v1/admin/warnings").body["warnings"];
  std::set<std::string> kinds;
  for (const auto& w : warnings) kinds.insert(w["kind"].get<std::string>());
  EXPECT_TRUE(kinds.count("CONSUMPTION_HIGH")) << warnings.dump();
  EXPECT_TRUE(kinds.count("TAMPER")) << warnings.dump();
  EXPECT_FALSE(kinds.count("CONSUMPTION_LOW")) << warnings.dump();
  EXPECT_EQ(m_admin->get("/v1/admin/reconciliation").body["tokens"]["loaded"]["count"], 1);
}

TEST_P(CloudApiTest, OperatorSeesRevenuePerKioskAndBuilding) {
  for (int i = 0; i < 3; ++i) {
    const std::string id = newOrder(kCard, 1000);
    pay(id);
  }
  EXPECT_EQ(m_admin->get("/v1/admin/revenue").status, 200);
  auto byKiosk = m_admin->get("/v1/admin/revenue?period=month&by=kiosk").body;
  ASSERT_EQ(byKiosk["rows"].size(), 1U) << byKiosk.dump();
  EXPECT_EQ(byKiosk["rows"][0]["kiosk"], kKiosk);
  EXPECT_EQ(byKiosk["rows"][0]["amount"], 3000);
  auto byBuilding = m_admin->get("/v1/admin/revenue?period=day&by=building").body;
  EXPECT_EQ(byBuilding["rows"][0]["building"], "B");
  EXPECT_EQ(byBuilding["rows"][0]["orders"], 3);
  httplib::Client anonymous("127.0.0.1", m_cloud->port());
  EXPECT_EQ(anonymous.Get("/v1/admin/revenue")->status, 401);
}

TEST_P(CloudApiTest, HealthAndMetrics) {
  httplib::Client client("127.0.0.1", m_cloud->port());
  auto health = client.Get("/healthz");
  EXPECT_EQ(health->status, 200);
  newOrder();
  auto metrics = client.Get("/metrics");
  EXPECT_NE(metrics->body.find("kiosk_cloud_orders_created_total 1"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("route=\"order_create\",status=\"201\""), std::string::npos);
}

// The property's service phone, hours and time zone: the cloud's own, unless the kiosk has its
// own; they reach the kiosk in its configuration, and the receipt page shows times in the zone.
TEST_P(CloudApiTest, TheKioskConfigCarriesTheServiceContactAndTheReceiptItsTimeZone) {
  CloudProcess::Options options;
  options.extraJson = R"({"service_phone": "400-820-1234", "service_hours": "08:00-20:00",
                          "time_zone": "Asia/Shanghai"})";
  start(options);
  auto config = m_kiosk->get("/v1/kiosk/config");
  ASSERT_EQ(config.status, 200) << config.text;
  EXPECT_EQ(config.body["service"]["phone"], "400-820-1234") << config.text;
  EXPECT_EQ(config.body["service"]["hours"], "08:00-20:00");
  EXPECT_EQ(config.body["service"]["time_zone"], "Asia/Shanghai");

  auto created = m_admin->post("/v1/admin/kiosks", {{"id", "kiosk-west"},
                                                    {"secret", "secret-of-kiosk-west-0123456789abcdef"},
                                                    {"service_phone", "021-5555-0100"},
                                                    {"time_zone", "Europe/Berlin"}});
  ASSERT_EQ(created.status, 201) << created.text;
  KioskClient west(m_cloud->port(), "kiosk-west", "secret-of-kiosk-west-0123456789abcdef");
  auto own = west.get("/v1/kiosk/config");
  ASSERT_EQ(own.status, 200) << own.text;
  EXPECT_EQ(own.body["service"]["phone"], "021-5555-0100");
  EXPECT_EQ(own.body["service"]["hours"], "08:00-20:00") << "not overridden: the cloud's";
  EXPECT_EQ(own.body["service"]["time_zone"], "Europe/Berlin");
  auto bad = m_admin->post("/v1/admin/kiosks", {{"id", "kiosk-mars"}, {"time_zone", "Mars/Olympus_Mons"}});
  EXPECT_EQ(bad.status, 400) << bad.text;

  const std::string id = newOrder(kCard, 2000);
  pay(id);
  ASSERT_EQ(awaitChange(id, "CREATED"), "PAID");
  httplib::Client web("127.0.0.1", m_cloud->port());
  auto page = web.Get(("/receipt/" + id).c_str());
  ASSERT_TRUE(page);
  EXPECT_NE(page->body.find(" CST</td>"), std::string::npos) << "not in the kiosk's zone:\n" << page->body;
  EXPECT_EQ(page->body.find(" UTC</td>"), std::string::npos) << page->body;
}

TEST_P(CloudApiTest, APaidOrderHasAReceiptPageAndAnUnpaidOneHasNone) {
  auto config = m_kiosk->get("/v1/kiosk/config");
  ASSERT_EQ(config.status, 200) << config.text;
  const std::string base = config.body.value("receipt_base_url", "");
  ASSERT_EQ(base, "http://127.0.0.1:" + std::to_string(m_cloud->port()) + "/receipt/");
  const std::string id = newOrder(kCard, 2000);
  httplib::Client web("127.0.0.1", m_cloud->port());
  auto unpaid = web.Get(("/receipt/" + id).c_str());
  ASSERT_TRUE(unpaid);
  EXPECT_EQ(unpaid->status, 404) << "no receipt before the money arrived";
  pay(id);
  ASSERT_EQ(awaitChange(id, "CREATED"), "PAID");
  auto paid = web.Get(("/receipt/" + id).c_str());
  ASSERT_TRUE(paid);
  EXPECT_EQ(paid->status, 200);
  EXPECT_NE(paid->body.find("<td id=\"amount\">¥20.00</td>"), std::string::npos) << paid->body;
  EXPECT_NE(paid->body.find(id), std::string::npos);
  EXPECT_EQ(paid->body.find(kCard), std::string::npos) << "the card number is masked";
  auto unknown = web.Get("/receipt/ord_000000000000000000000000");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

INSTANTIATE_TEST_SUITE_P(Backends, CloudApiTest, ::testing::Values(Backend::Sqlite, Backend::Postgres),
                         [](const auto& param) { return backendName(param.param); });

TEST_P(CloudApiTest, BlockedKioskIsRefusedWithinTwoSeconds) {
  ASSERT_EQ(m_kiosk->get("/v1/kiosk/config").status, 200);
  ASSERT_EQ(m_admin->post("/v1/admin/kiosks/kiosk-demo/status", {{"status", "BLOCKED"}}).status, 200);
  std::this_thread::sleep_for(2100ms);
  auto refused = m_kiosk->get("/v1/kiosk/config");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.errorCode(), "KIOSK_DISABLED");
  KioskClient stranger(m_cloud->port(), "kiosk-nobody", CloudProcess::kKioskSecret);
  EXPECT_EQ(stranger.get("/v1/kiosk/config").errorCode(), "UNKNOWN_KIOSK");
}

TEST_P(CloudApiTest, CardBlockedAfterPayingGetsNoTokenButARefund) {
  const std::string id = newOrder(kCard, 2500);
  pay(id);
  ASSERT_EQ(m_admin->post(std::string("/v1/admin/cards/") + kCard + "/status", {{"status", "LOST"}}).status, 200);
  EXPECT_EQ(script(id, randomChallenge()).errorCode(), "CARD_LOST");
  auto refund = m_admin->post("/v1/admin/orders/" + id + "/refund", json::object());
  ASSERT_EQ(refund.status, 200) << refund.text;
  EXPECT_EQ(refund.body["state"], "REFUND_PENDING");
  json report = reconciliationOnceRefunded(*m_admin, 2500);
  EXPECT_EQ(report["money"]["refunded"], 2500) << report.dump();
  EXPECT_EQ(report["tokens"]["issued"]["count"], 0);
  EXPECT_TRUE(report["balanced"].get<bool>());
}

// An operator refund of a paid order gives back the whole amount, so the fees that payment
// settled are owed again, and the books still balance.
TEST_P(CloudApiTest, RefundOfAnOrderThatSettledFeesLeavesTheFeesOwedAgain) {
  auto created = createOrder(kFeeCard, 5000);
  ASSERT_EQ(created.status, 201) << created.text;
  ASSERT_EQ(created.body["split"]["fees"], 3500);
  const std::string id = created.body["order_id"];
  pay(id);
  ASSERT_EQ(m_kiosk->get(std::string("/v1/kiosk/cards/") + kFeeCard).body["fees_total"], 0);

  auto refund = m_admin->post("/v1/admin/orders/" + id + "/refund", json::object());
  ASSERT_EQ(refund.status, 200) << refund.text;
  auto lookup = m_kiosk->get(std::string("/v1/kiosk/cards/") + kFeeCard);
  EXPECT_EQ(lookup.body["fees_total"], 3500) << lookup.text;
  ASSERT_EQ(lookup.body["fees"].size(), 1U) << lookup.text;
  EXPECT_EQ(lookup.body["fees"][0]["id"], "fee-demo-1");
  EXPECT_EQ(lookup.body["fees"][0]["owed"], 3500);

  json report = reconciliationOnceRefunded(*m_admin, 5000);
  EXPECT_EQ(report["money"]["refunded"], 5000) << report.dump();
  EXPECT_EQ(report["money"]["fees_settled"], 0) << report.dump();
  EXPECT_TRUE(report["balanced"].get<bool>()) << report.dump();

  // The next order of the household settles the fee again.
  auto next = createOrder(kFeeCard, 5000);
  ASSERT_EQ(next.status, 201) << next.text;
  EXPECT_EQ(next.body["split"]["fees"], 3500);
}

// The resident is shown which fees a payment settles (fee_items); the payment settles those
// and nothing else. What another payment settled meanwhile goes onto the card as credit.
TEST_P(CloudApiTest, APaymentSettlesTheFeesItsOrderShowedAndNoOthers) {
  auto first = createOrder(kFeeCard, 5000);
  ASSERT_EQ(first.status, 201) << first.text;
  ASSERT_EQ(first.body["fee_items"].size(), 1U) << first.text;
  EXPECT_EQ(first.body["fee_items"][0]["fee_id"], "fee-demo-1");
  auto second = createOrder(kFeeCard, 4000);
  ASSERT_EQ(second.status, 201) << second.text;
  EXPECT_EQ(second.body["fee_items"][0]["fee_id"], "fee-demo-1");
  // A fee billed after both orders were shown.
  auto rent = m_admin->post("/v1/admin/fees", {{"id", "fee-rent-1"}, {"account_id", "ACC-1001"},
                                               {"item", "rent"}, {"amount", 2000},
                                               {"description", "Rent, next month"}});
  ASSERT_EQ(rent.status, 201) << rent.text;

  const std::string secondId = second.body["order_id"];
  const std::string firstId = first.body["order_id"];
  pay(secondId);
  EXPECT_EQ(state(secondId).body["split"], (json{{"fees", 3500}, {"credit", 500}}));
  pay(firstId);
  // Its fee was settled by the other payment: all of it is credit, and the rent is still owed.
  auto paid = state(firstId).body;
  EXPECT_EQ(paid["state"], "PAID") << paid.dump();
  EXPECT_EQ(paid["split"], (json{{"fees", 0}, {"credit", 5000}})) << paid.dump();
  auto lookup = m_kiosk->get(std::string("/v1/kiosk/cards/") + kFeeCard);
  EXPECT_EQ(lookup.body["fees_total"], 2000) << lookup.text;
  ASSERT_EQ(lookup.body["fees"].size(), 1U) << lookup.text;
  EXPECT_EQ(lookup.body["fees"][0]["id"], "fee-rent-1");
  auto written = script(firstId, randomChallenge(), kFeeCard);
  ASSERT_EQ(written.status, 200) << written.text;
  EXPECT_EQ(written.body["token"]["amount"], 5000);
  auto report = m_admin->get("/v1/admin/reconciliation").body;
  EXPECT_EQ(report["money"]["fees_settled"], 3500) << report.dump();
  EXPECT_TRUE(report["balanced"].get<bool>()) << report.dump();
}

// The same create request again answers the same order, fee items included.
TEST_P(CloudApiTest, ARepeatedCreateRequestShowsTheSameFeeItems) {
  const json body{{"idempotency_key", "fee-key"}, {"card_number", kFeeCard}, {"amount", 5000},
                  {"challenge", "0011223344556677"}};
  auto a = m_kiosk->post("/v1/kiosk/orders", body);
  auto b = m_kiosk->post("/v1/kiosk/orders", body);
  ASSERT_EQ(a.status, 201) << a.text;
  ASSERT_EQ(b.status, 200) << b.text;
  EXPECT_EQ(b.body["fee_items"], a.body["fee_items"]);
  EXPECT_EQ(b.body["split"], a.body["split"]);
}

// What the kiosk's decoder (payments/decode.cpp) makes of an answer, as a kiosk would see it.
std::string kioskReadsConfig(const Reply& reply) {
  auto decoded = payments::decodeKioskConfig(reply.text);
  return decoded ? "" : decoded.error().detail;
}
std::string kioskReadsCard(const Reply& reply) {
  auto decoded = payments::decodeCardSummary(reply.text);
  return decoded ? "" : decoded.error().detail;
}

json tariffWith(const std::string& id, const json& change = json::object()) {
  json body{{"id", id}, {"name", "Tariff " + id}, {"utility", "electricity"},
            {"spec", {{"kind", "single"}, {"rate", 56}}}};
  body.merge_patch(change);
  return body;
}

// The operator API refuses what a kiosk could not read back: a tariff that every kiosk's
// configuration refresh would choke on, a fee that would break its household's card lookup.
TEST_P(CloudApiTest, OperatorInputsBeyondWhatKiosksReadAreRefused) {
  const std::string tooBig = "10000000001";  // one more than the kiosk takes as money
  json tiers = json::array();
  for (int i = 1; i <= 16; ++i) tiers.push_back({{"up_to", i * 100}, {"rate", 50 + i}});
  tiers.push_back({{"rate", 99}});
  json bands = json::array();
  for (int h = 0; h < 24; ++h) bands.push_back({{"name", "flat"}, {"from", h}, {"to", h + 1}, {"rate", 50}});
  const std::vector<std::tuple<std::string, json, std::string>> refused{
      {"tariffs", tariffWith("t-utility", {{"utility", std::string(17, 'e')}}), "utility"},
      {"tariffs", tariffWith(std::string(65, 't')), "id"},
      {"tariffs", tariffWith("t-name", {{"name", std::string(129, 'n')}}), "name"},
      {"tariffs", tariffWith("t-rate", {{"spec", {{"rate", json::parse(tooBig)}}}}), "rate"},
      {"tariffs", tariffWith("t-tiers", {{"spec", {{"kind", "tiered"}, {"rate", nullptr}, {"tiers", tiers}}}}), "tiers"},
      {"tariffs", tariffWith("t-bands", {{"spec", {{"kind", "time_of_use"}, {"rate", nullptr}, {"bands", bands}}}}), "bands"},
      {"fees", {{"account_id", "ACC-1001"}, {"item", "other"}, {"amount", 100},
                {"description", std::string(257, 'd')}}, "description"},
      {"fees", {{"account_id", "ACC-1001"}, {"item", "other"}, {"amount", json::parse(tooBig)}}, "amount"},
      {"fees", {{"id", std::string(65, 'f')}, {"account_id", "ACC-1001"}, {"item", "other"}, {"amount", 100}}, "id"},
      {"accounts", {{"id", "ACC-X1"}, {"resident", std::string(129, 'r')}, {"building", "A"}, {"room", "1"},
                    {"household", "H"}}, "resident"},
      {"accounts", {{"id", "ACC-X2"}, {"resident", "R"}, {"building", std::string(65, 'b')}, {"room", "1"},
                    {"household", "H"}}, "building"},
      {"accounts", {{"id", "ACC-X3"}, {"resident", "R"}, {"building", "A"}, {"room", std::string(65, 'r')},
                    {"household", "H"}}, "room"},
      {"accounts", {{"id", "ACC-X4"}, {"resident", "R"}, {"building", "A"}, {"room", "1"},
                    {"household", std::string(65, 'h')}}, "household"},
      {"accounts", {{"id", std::string(65, 'a')}, {"resident", "R"}, {"building", "A"}, {"room", "1"},
                    {"household", "H"}}, "id"},
      {"kiosks", {{"id", "kiosk-x1"}, {"location", std::string(257, 'l')}}, "location"},
      {"kiosks", {{"id", "kiosk-x2"}, {"building", std::string(65, 'b')}}, "building"},
      {"kiosks", {{"id", std::string(65, 'k')}}, "id"},
      {"staff", {{"id", "staff-x1"}, {"name", std::string(129, 'n')}, {"pin", "1234"}}, "name"},
      {"staff", {{"id", std::string(65, 's')}, {"name", "N"}, {"pin", "1234"}}, "id"},
      {"staff", {{"id", "staff-x2"}, {"name", "N"}, {"pin", "1234"}, {"card_number", "88000090011234567890"}},
       "card_number"},
  };
  for (const auto& [path, body, field] : refused) {
    auto reply = m_admin->post("/v1/admin/" + path, body);
    EXPECT_EQ(reply.status, 400) << path << " " << field << ": " << reply.text;
    EXPECT_EQ(reply.errorCode(), "BAD_REQUEST") << path << " " << field;
    EXPECT_NE(reply.errorMessage().find(field), std::string::npos)
        << path << " " << field << ": " << reply.text;
  }
  // Right at the limits (in bytes, as the kiosk counts them) is fine, and kiosks read it.
  std::string description;
  for (int i = 0; i < 85; ++i) description += "费";
  description += "x";
  ASSERT_EQ(description.size(), 256U);
  const std::vector<std::pair<std::string, json>> accepted{
      {"tariffs", tariffWith(std::string(64, 't'), {{"name", std::string(128, 'n')}, {"utility", "water"}})},
      {"fees", {{"id", std::string(64, 'f')}, {"account_id", "ACC-1001"}, {"item", "other"}, {"amount", 100},
                {"description", description}}},
      {"kiosks", {{"id", std::string(64, 'k')}, {"location", std::string(256, 'l')},
                  {"building", std::string(64, 'b')}}},
      {"staff", {{"id", std::string(64, 's')}, {"name", std::string(128, 'n')}, {"pin", "1234"},
                 {"card_number", "8800009002"}}},
  };
  for (const auto& [path, body] : accepted) {
    auto reply = m_admin->post("/v1/admin/" + path, body);
    EXPECT_EQ(reply.status, 201) << path << ": " << reply.text;
  }
  auto config = m_kiosk->get("/v1/kiosk/config");
  ASSERT_EQ(config.status, 200) << config.text;
  EXPECT_EQ(kioskReadsConfig(config), "");
  EXPECT_EQ(config.body["tariffs"].size(), 5U) << config.text;
  auto lookup = m_kiosk->get(std::string("/v1/kiosk/cards/") + kFeeCard);
  ASSERT_EQ(lookup.status, 200) << lookup.text;
  EXPECT_EQ(kioskReadsCard(lookup), "");
  EXPECT_EQ(lookup.body["fees"].size(), 2U) << lookup.text;
}

// Counts matter as much as lengths: the kiosk reads at most 256 tariffs, 256 fees owed by a
// household and 64 fee items in an order.
TEST_P(CloudApiTest, OperatorCannotBillMoreFeesOrTariffsThanKiosksRead) {
  for (int i = 0; i < 255; ++i) {  // the demo household owes one fee already
    auto fee = m_admin->post("/v1/admin/fees", {{"account_id", "ACC-1001"}, {"item", "other"}, {"amount", 10}});
    ASSERT_EQ(fee.status, 201) << i << ": " << fee.text;
  }
  auto extra = m_admin->post("/v1/admin/fees", {{"account_id", "ACC-1001"}, {"item", "other"}, {"amount", 10}});
  EXPECT_EQ(extra.status, 400) << extra.text;
  EXPECT_EQ(extra.errorCode(), "BAD_REQUEST");
  auto lookup = m_kiosk->get(std::string("/v1/kiosk/cards/") + kFeeCard);
  ASSERT_EQ(lookup.status, 200);
  EXPECT_EQ(lookup.body["fees"].size(), 256U);
  EXPECT_EQ(kioskReadsCard(lookup), "");
  // An order settles at most 64 of them; the kiosk reads its fee items.
  auto created = createOrder(kFeeCard, 50000);
  ASSERT_EQ(created.status, 201) << created.text;
  EXPECT_EQ(created.body["fee_items"].size(), 64U);
  EXPECT_EQ(created.body["split"]["fees"], 3500 + 63 * 10);
  auto decoded = payments::decodeCreatedOrder(created.text);
  EXPECT_TRUE(decoded) << (decoded ? "" : decoded.error().detail);

  for (int i = 0; i < 252; ++i) {  // four demo tariffs
    auto tariff = m_admin->post("/v1/admin/tariffs", tariffWith("t-" + std::to_string(i)));
    ASSERT_EQ(tariff.status, 201) << i << ": " << tariff.text;
  }
  auto tooMany = m_admin->post("/v1/admin/tariffs", tariffWith("t-last"));
  EXPECT_EQ(tooMany.status, 400) << tooMany.text;
  auto config = m_kiosk->get("/v1/kiosk/config");
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(config.body["tariffs"].size(), 256U);
  EXPECT_EQ(kioskReadsConfig(config), "");
}

// A kiosk reads at most 100 000 blocked cards: beyond that its configuration lists the most
// recently blocked (the ones a kiosk offline must know of), says how many there are, and the
// rest are still refused online. Before, the whole configuration grew past what kiosks read
// and every kiosk stopped taking new ones.
TEST_P(CloudApiTest, BlockedCardsBeyondWhatKiosksReadLeaveOutTheOldest) {
  auto db = openDatabase(m_cloud->database(), 1);
  // 100 000 lost cards, card 7700000001 lost longest ago.
  auto filled = db->execWrite(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
      "INSERT INTO cards (number, kind, status, status_at, created_at) "
      "SELECT CAST(7700000000 + i AS TEXT), 'resident', 'LOST', 1000 + i, 0 FROM n",
      {});
  ASSERT_TRUE(filled) << filled.error().message;
  db.reset();
  // Blocked through the operator endpoint, now: the most recent.
  ASSERT_EQ(m_admin->post(std::string("/v1/admin/cards/") + kCard + "/status", {{"status", "BLOCKED"}}).status, 200);

  auto config = m_kiosk->get("/v1/kiosk/config");
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(kioskReadsConfig(config), "");
  const auto& listed = config.body["blocked_cards"];
  ASSERT_EQ(listed.size(), 100000U);
  EXPECT_GE(config.body["blocked_cards_total"].get<std::int64_t>(), 100001);
  std::set<std::string> numbers;
  std::string previous;
  for (const auto& card : listed) {
    const std::string number = card["number"];
    EXPECT_LT(previous, number);  // by number, for the kiosk's lookups
    previous = number;
    numbers.insert(number);
  }
  EXPECT_TRUE(numbers.count(kCard));
  EXPECT_TRUE(numbers.count("7700100000"));
  EXPECT_FALSE(numbers.count("7700000001"));
  // The one left out is still refused online.
  EXPECT_EQ(m_kiosk->get("/v1/kiosk/cards/7700000001").errorCode(), "CARD_LOST");
}

// Every kiosk's configuration lists the active staff, at most 1000: bringing a blocked member
// back counts against that as creating one does, or every kiosk would stop reading its config.
TEST_P(CloudApiTest, BlockedStaffComeBackOnlyWhileKioskConfigurationsHaveRoom) {
  auto created = m_admin->post("/v1/admin/staff", {{"id", "tech-back"}, {"name", "Tech Back"}, {"pin", "2468"}});
  ASSERT_EQ(created.status, 201) << created.text;
  ASSERT_EQ(m_admin->post("/v1/admin/staff/tech-back/status", {{"status", "BLOCKED"}}).status, 200);
  // The rest of the 1000 straight into the store (each PIN through the API costs a PBKDF2).
  auto db = openDatabase(m_cloud->database(), 1);
  auto filled = db->inTransaction([](SqlConnection& conn) {
    auto known = conn.exec("SELECT pin_salt, pin_hash, pin_iterations FROM staff WHERE id = 'tech-back'", {});
    auto active = conn.exec("SELECT COUNT(*) FROM staff WHERE status = 'ACTIVE'", {});
    if (!known || !active || known->rows.empty()) return false;
    const auto& pin = known->rows[0];
    for (std::int64_t n = active->rows[0].integer(0); n < 1000; ++n) {
      if (!conn.exec("INSERT INTO staff (id, name, pin_salt, pin_hash, pin_iterations, created_at) "
                     "VALUES ($1, 'Bulk', $2, $3, $4, 0)",
                     {"bulk-" + std::to_string(n), pin.text(0), pin.text(1), pin.integer(2)})) {
        return false;
      }
    }
    return true;
  });
  ASSERT_TRUE(filled);
  db.reset();

  auto refused = m_admin->post("/v1/admin/staff/tech-back/status", {{"status", "ACTIVE"}});
  EXPECT_EQ(refused.status, 400) << refused.text;
  EXPECT_EQ(refused.errorCode(), "BAD_REQUEST");
  auto config = m_kiosk->get("/v1/kiosk/config");
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(config.body["staff"].size(), 1000U);
  EXPECT_EQ(kioskReadsConfig(config), "");
  // One already active stays so; one blocked makes room for the other.
  EXPECT_EQ(m_admin->post("/v1/admin/staff/bulk-999/status", {{"status", "ACTIVE"}}).status, 200);
  ASSERT_EQ(m_admin->post("/v1/admin/staff/bulk-999/status", {{"status", "BLOCKED"}}).status, 200);
  auto back = m_admin->post("/v1/admin/staff/tech-back/status", {{"status", "ACTIVE"}});
  EXPECT_EQ(back.status, 200) << back.text;
  config = m_kiosk->get("/v1/kiosk/config");
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(config.body["staff"].size(), 1000U);
  EXPECT_EQ(kioskReadsConfig(config), "");
  EXPECT_EQ(m_admin->post("/v1/admin/staff/nobody/status", {{"status", "ACTIVE"}}).status, 404);
}

std::string request(const std::string& head) {
  return head + "Host: 127.0.0.1\r\nConnection: close\r\n\r\n";
}

// Failures found by the HTTP layer itself answer in the API's error shape with a code a kiosk
// can act on, and no reply carries the text of an exception.
TEST_P(CloudApiTest, HttpLevelFailuresAnswerWithStableCodes) {
  httplib::Client client("127.0.0.1", m_cloud->port());
  auto big = client.Post("/v1/kiosk/journal", std::string(2 * 1024 * 1024, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_NE(big->body.find("\"PAYLOAD_TOO_LARGE\""), std::string::npos) << big->body;

  auto longUri = rawRequest(m_cloud->port(), request("GET /v1/kiosk/cards/" + std::string(9000, '1') + " HTTP/1.1\r\n"));
  EXPECT_EQ(longUri.status, 414) << longUri.text;
  EXPECT_EQ(longUri.errorCode(), "URI_TOO_LONG") << longUri.text;

  auto nowhere = rawRequest(m_cloud->port(), request("GET /v1/nowhere HTTP/1.1\r\n"));
  EXPECT_EQ(nowhere.status, 404);
  EXPECT_EQ(nowhere.errorCode(), "NOT_FOUND");

  auto garbage = rawRequest(m_cloud->port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(garbage.status, 400) << garbage.text;
  EXPECT_EQ(garbage.errorCode(), "BAD_REQUEST") << garbage.text;

  for (const auto* reply : {&longUri, &nowhere, &garbage}) {
    EXPECT_FALSE(reply->headers.count("EXCEPTION_WHAT")) << reply->text;
  }
  EXPECT_FALSE(big->has_header("EXCEPTION_WHAT"));
}

// Header values are raw bytes: a kiosk id or nonce that is not text is refused with the code
// a kiosk expects (the service does not fail on writing it back, nor does the database).
TEST_P(CloudApiTest, RawBytesInSigningHeadersAreRefusedNotAnInternalError) {
  const std::string ts = std::to_string(std::time(nullptr));
  auto headers = [&](const std::string& kiosk, const std::string& nonce) {
    const std::string signature = protocol::hmacSha256Hex(CloudProcess::kKioskSecret,
                                                protocol::canonicalRequest("GET", "/v1/kiosk/config", ts, nonce, ""));
    return "GET /v1/kiosk/config HTTP/1.1\r\nX-Kiosk-Id: " + kiosk + "\r\nX-Timestamp: " + ts +
           "\r\nX-Nonce: " + nonce + "\r\nX-Signature: " + signature + "\r\n";
  };
  auto notText = rawRequest(m_cloud->port(), request(headers("kiosk-\xff\xfe\xc3", protocol::randomHex(16))));
  EXPECT_EQ(notText.status, 401) << notText.text;
  EXPECT_EQ(notText.errorCode(), "UNKNOWN_KIOSK") << notText.text;
  EXPECT_FALSE(notText.headers.count("EXCEPTION_WHAT"));

  auto longId = rawRequest(m_cloud->port(), request(headers(std::string(5000, 'k'), protocol::randomHex(16))));
  EXPECT_EQ(longId.status, 401) << longId.text.substr(0, 300);
  EXPECT_EQ(longId.errorCode(), "UNKNOWN_KIOSK");
  EXPECT_LT(longId.text.size(), 1000U) << "the id is not echoed back";

  // Signed by the kiosk, but the nonce is not text.
  auto badNonce = rawRequest(m_cloud->port(), request(headers(kKiosk, std::string(20, '\xff'))));
  EXPECT_EQ(badNonce.status, 400) << badNonce.text;
  EXPECT_EQ(badNonce.errorCode(), "BAD_REQUEST") << badNonce.text;

  // Operator filters that are not text either.
  auto filtered = m_admin->get("/v1/admin/orders?state=%FF%FE&kiosk=%C3");
  EXPECT_EQ(filtered.status, 400) << filtered.text;
  EXPECT_EQ(filtered.errorCode(), "BAD_REQUEST");

  EXPECT_EQ(m_kiosk->get("/v1/kiosk/config").status, 200);
}

// Ids follow one rule (protocol/text.hpp): what can be created can be addressed by its own
// routes, and no id hides a space, a slash, a control character or a direction override.
TEST_P(CloudApiTest, IdsFollowOneRuleSoWhatIsCreatedCanBeAddressed) {
  const std::vector<std::string> bad{"kiosk 3", "kiosk/3", std::string("kiosk\0x", 7), "kiosk\n3",
                                     "kiosk\xE2\x80\xAE" "3", "kiosk%203"};
  for (const auto& id : bad) {
    SCOPED_TRACE(json(id).dump());
    auto kiosk = m_admin->post("/v1/admin/kiosks", {{"id", id}, {"location", "L"}, {"building", "B"}});
    EXPECT_EQ(kiosk.status, 400) << kiosk.text;
    EXPECT_EQ(kiosk.errorCode(), "BAD_REQUEST");
    auto account = m_admin->post("/v1/admin/accounts", {{"id", id}, {"resident", "R"}, {"building", "B"},
                                                        {"room", "1"}, {"household", "H"}});
    EXPECT_EQ(account.status, 400) << account.text;
    auto staff = m_admin->post("/v1/admin/staff", {{"id", id}, {"name", "N"}, {"pin", "135791"}});
    EXPECT_EQ(staff.status, 400) << staff.text;
  }
  auto created = m_admin->post("/v1/admin/kiosks", {{"id", "kiosk-3.b_c"}, {"location", "L"}, {"building", "B"}});
  ASSERT_EQ(created.status, 201) << created.text;
  auto disabled = m_admin->post("/v1/admin/kiosks/kiosk-3.b_c/status", {{"status", "BLOCKED"}});
  EXPECT_EQ(disabled.status, 200) << disabled.text;
}

// A blocked meter buys nothing: lookups and new orders are refused, and an order paid before
// the block gets no token.
TEST_P(CloudApiTest, ABlockedMeterBuysNothingAndGetsNoToken) {
  const std::string id = newOrder(kCard, 2500);
  pay(id);
  ASSERT_EQ(m_admin->post("/v1/admin/meters/52000001/status", {{"status", "BLOCKED"}}).status, 200);
  auto lookup = m_kiosk->get(std::string("/v1/kiosk/cards/") + kCard);
  EXPECT_EQ(lookup.status, 403) << lookup.text;
  EXPECT_EQ(lookup.errorCode(), "CARD_BLOCKED");
  EXPECT_EQ(createOrder(kCard, 1000).errorCode(), "CARD_BLOCKED");
  auto written = script(id, randomChallenge());
  EXPECT_EQ(written.status, 403) << written.text;
  EXPECT_EQ(written.errorCode(), "CARD_BLOCKED");
  auto report = m_admin->get("/v1/admin/reconciliation");
  EXPECT_EQ(report.body["tokens"]["issued"]["count"], 0) << report.text;
}

// The pay page shows a closed order as closed and takes no payment for it, as a wallet does.
TEST_P(CloudApiTest, ThePayPageRefusesACancelledOrExpiredOrder) {
  const std::string id = newOrder(kCard, 3000);
  ASSERT_EQ(m_kiosk->post("/v1/kiosk/orders/" + id + "/cancel", json::object()).status, 200);
  httplib::Client browser("127.0.0.1", m_cloud->port());
  auto page = browser.Get(("/pay/" + id).c_str());
  ASSERT_TRUE(page);
  EXPECT_EQ(page->body.find("id=\"pay\""), std::string::npos) << "a Pay button for a cancelled order";
  EXPECT_NE(page->body.find("cancelled"), std::string::npos) << page->body;
  auto paid = pressPayButton(m_cloud->port(), id, "pay");
  EXPECT_EQ(paid.status, 409) << paid.text;
  EXPECT_EQ(paid.text.find("Payment complete"), std::string::npos) << paid.text;
  EXPECT_EQ(state(id).body["state"], "CANCELED");
  auto lookup = m_kiosk->get(std::string("/v1/kiosk/cards/") + kCard);
  EXPECT_TRUE(lookup.body["pending"].empty()) << lookup.text;
  EXPECT_EQ(m_admin->get("/v1/admin/reconciliation").body["money"]["received"], 0);
}

// NUL and control characters are refused in every string of a request, before any database
// (PostgreSQL would cut the string at the NUL) or comparison sees it.
TEST_P(CloudApiTest, NulAndControlCharactersAreRefusedInEveryString) {
  auto key = createOrder(kCard, 1000, std::string("a\0b", 3));
  EXPECT_EQ(key.status, 400) << key.text;
  EXPECT_EQ(key.errorCode(), "BAD_REQUEST");
  auto account = m_admin->post("/v1/admin/accounts", {{"id", "ACC-9001"}, {"resident", std::string("N\0UL", 4)},
                                                      {"building", "B"}, {"room", "1"}, {"household", "H"}});
  EXPECT_EQ(account.status, 400) << account.text;
  auto tab = m_admin->post("/v1/admin/accounts", {{"id", "ACC-9002"}, {"resident", "Wang"},
                                                  {"building", "B\x1b[2J"}, {"room", "1"}, {"household", "H"}});
  EXPECT_EQ(tab.status, 400) << tab.text;

  const std::string ts = std::to_string(std::time(nullptr));
  const std::string nonce = protocol::randomHex(16);
  const std::string signature = protocol::hmacSha256Hex(
      CloudProcess::kKioskSecret, protocol::canonicalRequest("GET", "/v1/kiosk/config", ts, nonce, ""));
  auto evil = rawRequest(m_cloud->port(),
                         "GET /v1/kiosk/config HTTP/1.1\r\nX-Kiosk-Id: " + std::string("kiosk-demo\0evil", 15) +
                             "\r\nX-Timestamp: " + ts + "\r\nX-Nonce: " + nonce + "\r\nX-Signature: " + signature +
                             "\r\nConnection: close\r\n\r\n");
  EXPECT_NE(evil.status, 200) << "a NUL in the kiosk id authenticated as the kiosk before it";
}

// Card, account and meter agree: a resident's card is linked to a meter of its own account.
TEST_P(CloudApiTest, ACardMustBelongToTheHouseholdOfItsMeter) {
  auto foreign = m_admin->post("/v1/admin/cards", {{"number", "8800000099"}, {"kind", "resident"},
                                                   {"account_id", "ACC-1001"}, {"meter_number", "52000001"}});
  EXPECT_EQ(foreign.status, 400) << foreign.text;
  EXPECT_NE(foreign.errorMessage().find("ACC-2001"), std::string::npos) << foreign.text;
  auto own = m_admin->post("/v1/admin/cards", {{"number", "8800000099"}, {"kind", "resident"},
                                               {"account_id", "ACC-1001"}, {"meter_number", "41000001"}});
  EXPECT_EQ(own.status, 201) << own.text;
}

// A replay is a replay, whatever the first copy's fate: a refused request sent again is
// answered REPLAYED_NONCE, not with the first refusal.
TEST_P(CloudApiTest, AReplayedRefusedRequestIsAnsweredAsAReplay) {
  const auto ts = std::time(nullptr);
  for (const std::string& body : {std::string(R"({"idempotency_key":"k1","card_number":"8800000003"})"),
                                 std::string("{")}) {
    SCOPED_TRACE(body);
    const std::string nonce = protocol::randomHex(16);
    auto first = m_kiosk->send("POST", "/v1/kiosk/orders", body, ts, nonce, CloudProcess::kKioskSecret);
    EXPECT_EQ(first.status, 400) << first.text;
    auto replay = m_kiosk->send("POST", "/v1/kiosk/orders", body, ts, nonce, CloudProcess::kKioskSecret);
    EXPECT_EQ(replay.status, 401) << replay.text;
    EXPECT_EQ(replay.errorCode(), "REPLAYED_NONCE");
  }
}

}  // namespace
}  // namespace kiosk::cloud::test
