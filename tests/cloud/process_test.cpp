// kiosk-cloud as operators run it: several processes on one PostgreSQL, TLS, refusing plain
// HTTP off loopback, refusing key files that others can read, migrations and demo data.

#include "tests/support/cloud_fixture.hpp"

#include "card/virtual_card.hpp"
#include "cloud/db.hpp"
#include "card/write_script.hpp"
#include "protocol/signing.hpp"
#include "platform/temp_dir.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <thread>

namespace kiosk::cloud::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kCard = "8800000003";

std::string newOrder(KioskClient& kiosk) {
  auto reply = kiosk.post("/v1/kiosk/orders", {{"idempotency_key", protocol::randomHex(8)},
                                               {"card_number", kCard},
                                               {"amount", 1000},
                                               {"challenge", randomChallenge()}});
  EXPECT_EQ(reply.status, 201) << reply.text;
  return reply.body.value("order_id", "");
}

TEST(CloudProcesses, SeveralServersOnOnePostgresBehaveAsOne) {
  CloudProcess::Options options;
  options.database = PgServer::instance().createDatabase();
  CloudProcess a(options);
  a.seedDemo();
  CloudProcess b(options, platform::makeTempDir("kiosk-cloud-b-"));
  KioskClient onA(a.port(), "kiosk-demo", CloudProcess::kKioskSecret);
  KioskClient onB(b.port(), "kiosk-demo", CloudProcess::kKioskSecret);

  // A nonce used on one server is a replay on the other.
  const std::string nonce = protocol::randomHex(16);
  const auto ts = std::time(nullptr);
  EXPECT_EQ(onA.send("GET", "/v1/kiosk/config", "", ts, nonce, CloudProcess::kKioskSecret).status, 200);
  auto replay = onB.send("GET", "/v1/kiosk/config", "", ts, nonce, CloudProcess::kKioskSecret);
  EXPECT_EQ(replay.errorCode(), "REPLAYED_NONCE");

  // A long poll on B wakes when the payment lands on A (LISTEN/NOTIFY).
  const std::string id = newOrder(onA);
  auto poll = std::async(std::launch::async, [&] {
    KioskClient client(b.port(), "kiosk-demo", CloudProcess::kKioskSecret);
    const auto started = std::chrono::steady_clock::now();
    auto reply = client.get("/v1/kiosk/orders/" + id + "?wait=20&since=CREATED");
    return std::make_pair(reply, std::chrono::steady_clock::now() - started);
  });
  std::this_thread::sleep_for(400ms);
  ASSERT_EQ(pressPayButton(a.port(), id, "pay").status, 200);
  auto [reply, took] = poll.get();
  EXPECT_EQ(reply.body["state"], "PAID") << reply.text;
  EXPECT_LT(took, 2s);

  // Script fetches racing on both servers still mint one token.
  std::vector<std::future<Reply>> fetches;
  for (int i = 0; i < 10; ++i) {
    const int port = i % 2 == 0 ? a.port() : b.port();
    fetches.push_back(std::async(std::launch::async, [&, port] {
      KioskClient client(port, "kiosk-demo", CloudProcess::kKioskSecret);
      return client.post("/v1/kiosk/orders/" + id + "/script",
                         {{"card_number", kCard}, {"challenge", randomChallenge()}});
    }));
  }
  std::set<std::string> tokens;
  for (auto& f : fetches) {
    auto r = f.get();
    ASSERT_EQ(r.status, 200) << r.text;
    tokens.insert(r.body["token"]["hex"].get<std::string>());
  }
  EXPECT_EQ(tokens.size(), 1U);
  AdminClient admin(b.port());
  EXPECT_EQ(admin.get("/v1/admin/reconciliation").body["tokens"]["issued"]["count"], 1);
}

// Runs one statement as the cluster's superuser, from the `postgres` database.
void superuser(const std::string& sql) {
  PGconn* conn = PQconnectdb(PgServer::instance().url("postgres").c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* result = PQexec(conn, sql.c_str());
  EXPECT_TRUE(PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK)
      << sql << ": " << PQerrorMessage(conn);
  PQclear(result);
  PQfinish(conn);
}

// What is announced while a server's listening connection is down never reaches it: when the
// connection is back, every parked poll re-reads its order, so a payment made meanwhile wakes
// the kiosk at once, not at the end of its wait.
TEST(CloudProcesses, APaymentMadeWhileAServerWasNotListeningStillWakesItsPolls) {
  CloudProcess::Options options;
  options.database = PgServer::instance().createDatabase();
  // postgresql://postgres@/NAME?host=...
  const std::size_t nameAt = options.database.find("@/") + 2;
  const std::string database = options.database.substr(nameAt, options.database.find('?') - nameAt);
  CloudProcess a(options);
  a.seedDemo();
  CloudProcess b(options, platform::makeTempDir("kiosk-cloud-b-"));
  KioskClient onA(a.port(), "kiosk-demo", CloudProcess::kKioskSecret);
  const std::string id = newOrder(onA);
  auto poll = std::async(std::launch::async, [&] {
    KioskClient client(b.port(), "kiosk-demo", CloudProcess::kKioskSecret);
    const auto started = std::chrono::steady_clock::now();
    auto reply = client.get("/v1/kiosk/orders/" + id + "?wait=25&since=CREATED");
    return std::make_pair(reply, std::chrono::steady_clock::now() - started);
  });
  std::this_thread::sleep_for(400ms);
  // The listening connections are cut and cannot come back (as in a database restart); the
  // servers' pools keep the connections they have.
  superuser("ALTER DATABASE " + database + " WITH ALLOW_CONNECTIONS false");
  superuser("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database +
            "' AND query LIKE 'LISTEN%'");
  std::this_thread::sleep_for(500ms);
  const auto paid = std::chrono::steady_clock::now();
  ASSERT_EQ(pressPayButton(a.port(), id, "pay").status, 200);
  superuser("ALTER DATABASE " + database + " WITH ALLOW_CONNECTIONS true");
  auto [reply, took] = poll.get();
  EXPECT_EQ(reply.body["state"], "PAID") << reply.text;
  EXPECT_LT(std::chrono::steady_clock::now() - paid, 10s) << "the poll heard of the payment only at the end of its wait";
}

// The simulated pay page's webhook comes back to the same service: residents paying at once
// must not take every handler thread with pages that wait for webhooks that need one.
TEST(CloudProcesses, ResidentsPayingAtOnceNeverWaitForEachOthersWebhooks) {
  CloudProcess::Options options;
  options.extraJson = json{{"threads", 2}}.dump();
  CloudProcess cloud(options);
  cloud.seedDemo();
  KioskClient kiosk(cloud.port(), "kiosk-demo", CloudProcess::kKioskSecret);
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(newOrder(kiosk));
  std::vector<std::future<Reply>> pays;
  for (const auto& id : ids) {
    pays.push_back(std::async(std::launch::async, [&cloud, id] { return pressPayButton(cloud.port(), id, "pay"); }));
  }
  for (auto& pay : pays) {
    const Reply page = pay.get();
    EXPECT_EQ(page.status, 200) << page.text;
    EXPECT_NE(page.text.find("Payment complete"), std::string::npos) << page.text;
  }
  for (const auto& id : ids) EXPECT_EQ(kiosk.get("/v1/kiosk/orders/" + id).body.value("state", ""), "PAID");
}

// A self-signed localhost certificate (cert.pem) and its key (key.pem) in `dir`.
bool writeSelfSignedCertificate(const std::filesystem::path& dir) {
  const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                          "-subj /CN=localhost -keyout " + (dir / "key.pem").string() + " -out " +
                          (dir / "cert.pem").string() + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// A second service started on the port of a running one must not start: the kernel would split
// kiosks' requests between two databases.
TEST(CloudProcesses, ASecondServiceOnATakenPortRefusesToStart) {
  CloudProcess first({});
  auto [rc, output] = first.runToolWithin(std::chrono::seconds(10), {"--port", std::to_string(first.port())});
  EXPECT_NE(rc, 124) << "the second service was still running after 10 s:\n" << output;
  EXPECT_NE(rc, 0) << output;
  EXPECT_NE(output.find("in use"), std::string::npos) << output;
  httplib::Client client("127.0.0.1", first.port());
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// Ids stored before the id rule: `migrate` lists them, `rename-id` gives one a new id that its
// routes can address, and everything that referred to it follows.
class IdsFromBeforeTheRule : public ::testing::TestWithParam<Backend> {};

TEST_P(IdsFromBeforeTheRule, AreListedByMigrateAndRenamedWithWhatRefersToThem) {
  CloudProcess::Options options;
  if (GetParam() == Backend::Postgres) options.database = PgServer::instance().createDatabase();
  CloudProcess cloud(options);
  cloud.seedDemo();
  {
    auto db = openDatabase(cloud.database(), 1);
    ASSERT_TRUE(db->execWrite("INSERT INTO accounts (id, resident, building, room, household, created_at) "
                              "VALUES ('ACC 9', 'Old Row', 'C', '0101', 'HH-C-0101', 1)", {}));
    ASSERT_TRUE(db->execWrite("INSERT INTO meters (number, account_id, utility, created_at) "
                              "VALUES ('41000099', 'ACC 9', 'electricity', 1)", {}));
    ASSERT_TRUE(db->execWrite("INSERT INTO cards (number, kind, account_id, meter_number, created_at) "
                              "VALUES ('8800000099', 'resident', 'ACC 9', '41000099', 1)", {}));
  }
  AdminClient admin(cloud.port());
  EXPECT_EQ(admin.post("/v1/admin/accounts/ACC%209/status", {{"status", "BLOCKED"}}).status, 404)
      << "the old id is out of its route's reach";

  auto [listed, listing] = cloud.runTool({"migrate"});
  EXPECT_EQ(listed, 0) << listing;
  EXPECT_NE(listing.find("accounts id \"ACC 9\" does not follow the id rule"), std::string::npos) << listing;
  EXPECT_NE(listing.find("1 ids do not follow the id rule"), std::string::npos) << listing;

  auto [bad, badOutput] = cloud.runTool({"rename-id", "accounts", "ACC 9", "ACC/9"});
  EXPECT_NE(bad, 0) << "a new id outside the rule";
  auto [taken, takenOutput] = cloud.runTool({"rename-id", "accounts", "ACC 9", "ACC-1001"});
  EXPECT_NE(taken, 0) << "a new id that is taken";
  auto [renamed, output] = cloud.runTool({"rename-id", "accounts", "ACC 9", "ACC-9"});
  ASSERT_EQ(renamed, 0) << output;

  auto again = cloud.runTool({"migrate"});
  EXPECT_EQ(again.second.find("does not follow the id rule"), std::string::npos) << again.second;
  // The card and its meter follow the account; its route reaches it now.
  KioskClient kiosk(cloud.port(), "kiosk-demo", CloudProcess::kKioskSecret);
  auto lookup = kiosk.get("/v1/kiosk/cards/8800000099");
  ASSERT_EQ(lookup.status, 200) << lookup.text;
  EXPECT_EQ(lookup.body["account"]["id"], "ACC-9");
  EXPECT_EQ(lookup.body["account"]["building"], "C");
  EXPECT_EQ(admin.post("/v1/admin/accounts/ACC-9/status", {{"status", "BLOCKED"}}).status, 200);
  EXPECT_EQ(kiosk.get("/v1/kiosk/cards/8800000099").errorCode(), "CARD_BLOCKED");
}

INSTANTIATE_TEST_SUITE_P(Backends, IdsFromBeforeTheRule, ::testing::Values(Backend::Sqlite, Backend::Postgres),
                         [](const auto& param) { return backendName(param.param); });

TEST(CloudProcesses, RefusesPlainHttpOffLoopback) {
  CloudProcess local({});
  auto [rc, output] = local.runTool({"--listen", "0.0.0.0", "--port", "0"});
  EXPECT_EQ(rc, 1);
  EXPECT_NE(output.find("refusing plain HTTP on 0.0.0.0"), std::string::npos) << output;
}

TEST(CloudProcesses, ServesTlsOnAnyAddressWithACertificate) {
  const auto dir = platform::makeTempDir("kiosk-tls-");
  ASSERT_TRUE(writeSelfSignedCertificate(dir));
  CloudProcess::Options options;
  options.extraJson = json{{"listen", "0.0.0.0"},
                           {"tls_cert", (dir / "cert.pem").string()},
                           {"tls_key", (dir / "key.pem").string()}}.dump();
  CloudProcess tls(options);
  httplib::SSLClient client("127.0.0.1", tls.port());
  client.enable_server_certificate_verification(false);
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  httplib::Client plain("127.0.0.1", tls.port());
  EXPECT_FALSE(plain.Get("/healthz"));  // no plain HTTP on a TLS port
}

TEST(CloudProcesses, RefusesAVendingKeyOthersCanRead) {
  const auto dir = platform::makeTempDir("kiosk-keys-");
  { CloudProcess first({}, dir); }
  chmod((dir / "vending.key").c_str(), 0644);
  try {
    CloudProcess second({}, dir);
    FAIL() << "kiosk-cloud started with a world-readable vending key";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("readable by others"), std::string::npos) << e.what();
  }
}

TEST(CloudProcesses, MigrationsAndSeedAreRepeatable) {
  CloudProcess cloud({});
  auto first = cloud.seedDemo();
  auto second = cloud.seedDemo();
  EXPECT_EQ(first["kiosk_secret"], second["kiosk_secret"]);
  auto [rc, output] = cloud.runTool({"migrate"});
  EXPECT_EQ(rc, 0) << output;
  AdminClient admin(cloud.port());
  auto dup = admin.post("/v1/admin/accounts", {{"id", "ACC-1001"}, {"resident", "X"}, {"building", "A"},
                                               {"room", "1"}, {"household", "H"}});
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.errorCode(), "CONFLICT");
  auto dangling = admin.post("/v1/admin/meters", {{"number", "99"}, {"account_id", "NOPE"},
                                                  {"utility", "water"}});
  EXPECT_EQ(dangling.errorCode(), "BAD_REQUEST") << dangling.text;
}

}  // namespace
}  // namespace kiosk::cloud::test

namespace kiosk::cloud::test {
namespace {

// The card the cloud issues takes the write script the cloud builds: the virtual card checks
// the secure-messaging MAC itself and the token reads back from its CREDIT ring.
TEST(CloudCards, IssuedCardAcceptsTheCloudsWriteScript) {
  CloudProcess cloud({});
  cloud.seedDemo();
  const auto out = cloud.dir() / "cards";
  auto [rc, output] = cloud.runTool({"issue-card", "--card", kCard, "--out", out.string()});
  ASSERT_EQ(rc, 0) << output;
  auto image = card::loadCardFile(out / (std::string("card-") + kCard + ".json"));
  ASSERT_TRUE(image);
  auto id = card::decodeIdFile(image->id);
  ASSERT_TRUE(id);
  auto issuer = card::EcKey::loadPem(cloud.issuerKeyFile());
  ASSERT_TRUE(issuer);
  EXPECT_TRUE(card::verifyIdFile(*id, issuer->publicOnly()));
  EXPECT_EQ(id->meterNumber, 52000001U);
  EXPECT_EQ(id->accountNumber, "ACC-2001");

  card::VirtualCard virtualCard(*image);
  virtualCard.powerOn();
  auto answer = [&](const kiosk::Bytes& apdu) { return virtualCard.process(apdu); };
  auto selected = answer(card::commands::selectAid());
  ASSERT_EQ(kiosk::toHex(kiosk::ByteView(selected).last(2)), "9000");

  KioskClient kiosk(cloud.port(), "kiosk-demo", CloudProcess::kKioskSecret);
  const std::string order = newOrder(kiosk);
  ASSERT_EQ(pressPayButton(cloud.port(), order, "pay").status, 200);
  auto challenge = answer(card::commands::getChallenge());
  ASSERT_EQ(challenge.size(), 10U);
  const std::string challengeHex = kiosk::toHex(kiosk::ByteView(challenge).first(8));
  auto reply = kiosk.post("/v1/kiosk/orders/" + order + "/script",
                          {{"card_number", kCard}, {"challenge", challengeHex}});
  ASSERT_EQ(reply.status, 200) << reply.text;
  auto script = card::writeScriptFromJson(reply.body["script"].dump());
  ASSERT_TRUE(script);
  for (const auto& step : script->steps) {
    auto response = answer(step.apdu);
    ASSERT_GE(response.size(), 2U);
    const auto sw = static_cast<std::uint16_t>(response[response.size() - 2] << 8 | response.back());
    EXPECT_EQ(sw, step.expectSw) << kiosk::toHex(step.apdu);
  }
  const auto record = virtualCard.image().credit[card::creditRecordFor(1) - 1];
  EXPECT_EQ(kiosk::toHex(record), reply.body["token"]["hex"].get<std::string>());

  // A script for an old challenge is refused by the card: the MAC binds it to one challenge.
  auto stale = kiosk.post("/v1/kiosk/orders/" + order + "/script",
                          {{"card_number", kCard}, {"challenge", challengeHex}});
  auto replayScript = card::writeScriptFromJson(stale.body["script"].dump());
  ASSERT_TRUE(replayScript);
  (void)answer(card::commands::getChallenge());
  auto refused = answer(replayScript->steps[0].apdu);
  EXPECT_NE(kiosk::toHex(kiosk::ByteView(refused).last(2)), "9000");
}

}  // namespace
}  // namespace kiosk::cloud::test

namespace kiosk::cloud::test {
namespace {

// How many times the simulated provider was asked to refund each order, over every process's
// log (the provider's own record of the refunds it made).
std::map<std::string, int> providerRefunds(const std::vector<const CloudProcess*>& processes) {
  std::map<std::string, int> calls;
  const std::string marker = "sim provider: refunded ";
  for (const auto* process : processes) {
    std::ifstream log(process->dir() / "cloud.log");
    std::string line;
    while (std::getline(log, line)) {
      const auto at = line.find(marker);
      if (at == std::string::npos) continue;
      const auto order = line.find("of order ", at);
      if (order != std::string::npos) ++calls[line.substr(order + 9)];
    }
  }
  return calls;
}

// Every process sweeps the refunds: however their sweeps overlap, the provider is asked to
// send each order's money back once.
TEST(CloudProcesses, EachRefundReachesTheProviderOnceAcrossServers) {
  CloudProcess::Options options;
  options.database = PgServer::instance().createDatabase();
  options.sweepIntervalMs = 10;
  CloudProcess a(options);
  a.seedDemo();
  CloudProcess b(options, platform::makeTempDir("kiosk-cloud-b-"));
  KioskClient kiosk(a.port(), "kiosk-demo", CloudProcess::kKioskSecret);
  constexpr int kOrders = 30;
  std::vector<std::string> ids;
  for (int i = 0; i < kOrders; ++i) {
    ids.push_back(newOrder(kiosk));
    ASSERT_EQ(pressPayButton(a.port(), ids.back(), "pay").status, 200);
  }
  std::vector<std::future<int>> refunds;
  for (int i = 0; i < kOrders; ++i) {
    const int port = i % 2 == 0 ? a.port() : b.port();
    refunds.push_back(std::async(std::launch::async, [port, id = ids[static_cast<std::size_t>(i)]] {
      AdminClient admin(port);
      return admin.post("/v1/admin/orders/" + id + "/refund", json::object()).status;
    }));
  }
  for (auto& f : refunds) EXPECT_EQ(f.get(), 200);
  AdminClient admin(a.port());
  json report = reconciliationOnceRefunded(admin, kOrders * 1000, 100);
  EXPECT_EQ(report["money"]["refunded"], kOrders * 1000) << report.dump();
  EXPECT_TRUE(report["balanced"].get<bool>()) << report.dump();
  std::this_thread::sleep_for(300ms);  // a late second call would show up by now
  const auto calls = providerRefunds({&a, &b});
  for (const auto& id : ids) {
    const auto it = calls.find(id);
    EXPECT_EQ(it == calls.end() ? 0 : it->second, 1) << "refunds sent for " << id;
  }
}

void execPostgres(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* res = PQexec(conn, sql.c_str());
  EXPECT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQresultErrorMessage(res);
  EXPECT_STREQ(PQcmdTuples(res), "1");
  PQclear(res);
  PQfinish(conn);
}

// A server that claimed a refund and died before recording it leaves its claim behind: the
// refund is not lost, and no other server asks the provider while the claim still holds.
TEST(CloudProcesses, ARefundLeftClaimedByAServerThatDiedIsSentWhenTheClaimLapses) {
  CloudProcess::Options options;
  options.database = PgServer::instance().createDatabase();
  options.sweepIntervalMs = 50;
  CloudProcess cloud(options);
  cloud.seedDemo();
  KioskClient kiosk(cloud.port(), "kiosk-demo", CloudProcess::kKioskSecret);
  const std::string id = newOrder(kiosk);
  ASSERT_EQ(pressPayButton(cloud.port(), id, "pay").status, 200);
  // What a server that died between claiming the refund and recording it leaves behind.
  execPostgres(options.database,
               "UPDATE orders SET state = 'REFUND_PENDING', reason = 'OPERATOR', refund_claim = "
               "'sweeper-gone', refund_claim_until = " + std::to_string(std::time(nullptr) + 3) +
                   " WHERE id = '" + id + "' AND state = 'PAID'");
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(kiosk.get("/v1/kiosk/orders/" + id).body["state"], "REFUND_PENDING");
  EXPECT_EQ(providerRefunds({&cloud}).count(id), 0U);
  std::string state;
  for (int i = 0; i < 100 && state != "REFUNDED"; ++i) {
    std::this_thread::sleep_for(100ms);
    state = kiosk.get("/v1/kiosk/orders/" + id).body.value("state", "");
  }
  EXPECT_EQ(state, "REFUNDED");
  EXPECT_EQ(providerRefunds({&cloud})[id], 1);
  AdminClient admin(cloud.port());
  EXPECT_TRUE(admin.get("/v1/admin/reconciliation").body["balanced"].get<bool>());
}

}  // namespace
}  // namespace kiosk::cloud::test

namespace kiosk::cloud::test {
namespace {

// A slow client that sends its request a byte at a time is dropped once the request has taken
// longer than the deadline; several of them do not keep a kiosk's request from being served,
// and a long poll (the server waiting, not the client) is not cut short.
TEST(CloudProcesses, SlowClientsAreDroppedAndDoNotStarveKiosks) {
  CloudProcess::Options options;
  options.extraJson = json{{"threads", 4}, {"request_read_timeout_seconds", 2}}.dump();
  CloudProcess cloud(options);
  cloud.seedDemo();

  // Six of them (more than the worker threads), one sending its body rather than its headers
  // a byte at a time.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 6; ++i) {
    slow.push_back(std::make_unique<RawConnection>(cloud.port()));
    if (i == 0) {
      ASSERT_TRUE(slow.back()->send("POST /v1/kiosk/journal HTTP/1.1\r\nHost: x\r\n"
                                    "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"));
    } else {
      ASSERT_TRUE(slow.back()->send("GET /v1/kiosk/config HTTP/1.1\r\n"));
    }
  }
  std::atomic<bool> done{false};
  std::thread dribbler([&] {
    for (int second = 0; second < 20 && !done; ++second) {
      for (std::size_t i = 0; i < slow.size(); ++i) (void)slow[i]->send(i == 0 ? " " : "X");
      for (int slice = 0; slice < 10 && !done; ++slice) std::this_thread::sleep_for(100ms);
    }
  });
  std::this_thread::sleep_for(300ms);
  // A kiosk connecting now.
  KioskClient kiosk(cloud.port(), "kiosk-demo", CloudProcess::kKioskSecret);
  const auto started = std::chrono::steady_clock::now();
  auto served = kiosk.get("/v1/kiosk/config");
  const auto took = std::chrono::steady_clock::now() - started;
  done = true;
  dribbler.join();
  EXPECT_EQ(served.status, 200) << served.text;
  EXPECT_LT(took, 6s) << "a kiosk waited behind the slow clients";
  for (auto& connection : slow) EXPECT_TRUE(connection->closedWithin(5s));

  // A long poll outlasts the request deadline: the wait is the server's, not the client's.
  const std::string id = newOrder(kiosk);
  const auto polled = std::chrono::steady_clock::now();
  auto poll = kiosk.get("/v1/kiosk/orders/" + id + "?wait=3");
  EXPECT_EQ(poll.status, 200) << poll.text;
  EXPECT_EQ(poll.body["state"], "CREATED");
  EXPECT_GE(std::chrono::steady_clock::now() - polled, 2900ms);
}

// A body is limited while it arrives, whatever its transfer encoding: no client, signed or
// not, makes the service read more than the API's 1 MiB limit, or hold its memory.
TEST(CloudProcesses, OversizedBodiesAreRefusedWhileTheyArriveInAnyEncoding) {
  CloudProcess cloud({});
  cloud.seedDemo();
  KioskClient kiosk(cloud.port(), "kiosk-demo", CloudProcess::kKioskSecret);
  (void)kiosk.get("/v1/kiosk/config");  // the service at rest, warmed up
  const Memory rest = memoryOf(cloud.pid());
  const std::size_t limit = 1024 * 1024;
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'a') + "\r\n";  // 64 KiB

  // Four clients at once stream chunked bodies; the service stops reading each soon after the
  // limit and answers 413.
  std::vector<std::thread> uploads;
  std::vector<std::size_t> accepted(4, 0);
  std::vector<Reply> answers(4);
  for (std::size_t c = 0; c < 4; ++c) {
    uploads.emplace_back([&, c] {
      RawConnection upload(cloud.port());
      upload.send("POST /v1/kiosk/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n");
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      for (int i = 0; i < 4096 && std::chrono::steady_clock::now() < deadline; ++i) {  // up to 256 MiB
        const std::size_t sent = upload.sendUntil(chunk, deadline);
        accepted[c] += sent;
        if (sent < chunk.size()) break;
      }
      answers[c] = upload.readReply(5s);
    });
  }
  for (auto& t : uploads) t.join();
  const Memory after = memoryOf(cloud.pid());
  for (std::size_t c = 0; c < 4; ++c) {
    // The socket buffers on both sides hold a few MiB that the service never read.
    EXPECT_LT(accepted[c], 16 * limit) << "client " << c << ": the service kept reading";
    EXPECT_EQ(answers[c].status, 413) << "client " << c << ": " << answers[c].text.substr(0, 200);
  }
  EXPECT_LT(after.peakKb, rest.rssKb * 3 / 2 + 50 * 1024)
      << "peak " << after.peakKb << " KiB against " << rest.rssKb << " KiB at rest";

  // A body with neither Content-Length nor chunked encoding runs to the end of the connection:
  // refused as such (411) before any of it is read.
  RawConnection unframed(cloud.port());
  unframed.send("POST /v1/kiosk/orders HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n\r\n");
  const auto unframedStarted = std::chrono::steady_clock::now();
  std::size_t unframedSent = 0;
  for (int i = 0; i < 512 && unframedSent < 32 * limit; ++i) {
    const std::size_t sent = unframed.sendUntil(std::string(0x10000, 'a'), unframedStarted + 5s);
    unframedSent += sent;
    if (sent < 0x10000) break;
  }
  auto unframedAnswer = unframed.readReply(5s);
  EXPECT_LT(unframedSent, 16 * limit) << "the service kept reading a body without a length";
  EXPECT_TRUE(unframedAnswer.status == 411 || unframedAnswer.status == 413) << unframedAnswer.text.substr(0, 200);

  // An announced length beyond the limit is refused at once, not after a timeout.
  const auto started = std::chrono::steady_clock::now();
  auto announced = rawRequest(cloud.port(),
                              "POST /v1/kiosk/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Content-Length: 1073741824\r\nConnection: close\r\n\r\n{",
                              5s);
  EXPECT_EQ(announced.status, 413) << announced.text;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "the refusal waited for a body";
  EXPECT_EQ(kiosk.get("/v1/kiosk/config").status, 200);
}

// No connection holds a worker until its whole request is in, and a long poll waits without
// one: slow clients and long polls, far more of them than the service has worker threads, do
// not delay a kiosk's request, and every poll is answered when its wait is over.
TEST(CloudProcesses, SlowClientsAndLongPollsHoldNoWorker) {
  CloudProcess::Options options;
  // All the clients share the loopback address: the per-address cap is raised for them.
  options.extraJson = json{{"threads", 4}, {"request_read_timeout_seconds", 30},
                           {"max_connections_per_address", 1000}}.dump();
  CloudProcess cloud(options);
  cloud.seedDemo();
  KioskClient kiosk(cloud.port(), "kiosk-demo", CloudProcess::kKioskSecret);
  const std::string id = newOrder(kiosk);

  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<RawConnection>(cloud.port()));
    ASSERT_TRUE(slow.back()->send("G"));
  }
  // 300 long polls, signed like a kiosk's, each asking to wait 6 s for a change.
  std::vector<std::future<std::pair<int, std::chrono::milliseconds>>> polls;
  for (int i = 0; i < 300; ++i) {
    polls.push_back(std::async(std::launch::async, [&cloud, id] {
      KioskClient poller(cloud.port(), "kiosk-demo", CloudProcess::kKioskSecret);
      const auto started = std::chrono::steady_clock::now();
      auto reply = poller.get("/v1/kiosk/orders/" + id + "?wait=6&since=CREATED");
      return std::make_pair(reply.status, std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::steady_clock::now() - started));
    }));
  }
  std::this_thread::sleep_for(1s);  // the polls are waiting and the slow clients connected
  for (int round = 0; round < 3; ++round) {
    const auto started = std::chrono::steady_clock::now();
    auto served = kiosk.get("/v1/kiosk/config");
    EXPECT_EQ(served.status, 200) << served.text;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s) << "a kiosk waited behind slow clients and polls";
  }
  for (auto& poll : polls) {
    const auto [status, took] = poll.get();
    EXPECT_EQ(status, 200);
    EXPECT_GE(took, 5500ms);
    EXPECT_LT(took, 8s) << "a long poll was answered long after its wait";
  }
}

// One address may hold only so many connections: the next is closed at once, the operator
// sees the refusals in /metrics, and the address is served again when its connections end.
TEST(CloudProcesses, OneAddressCannotTakeEveryConnection) {
  CloudProcess::Options options;
  options.extraJson = json{{"max_connections_per_address", 8}}.dump();
  CloudProcess cloud(options);
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 8; ++i) {
    held.push_back(std::make_unique<RawConnection>(cloud.port()));
    ASSERT_TRUE(held.back()->send("G"));
  }
  std::this_thread::sleep_for(200ms);
  RawConnection ninth(cloud.port());
  (void)ninth.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(ninth.closedWithin(2s)) << "a ninth connection from one address was kept";
  held.clear();
  std::this_thread::sleep_for(300ms);
  httplib::Client client("127.0.0.1", cloud.port());
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics) << "the address was not served again once its connections closed";
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("kiosk_cloud_connections_refused_total 1"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("kiosk_cloud_connections_open 1"), std::string::npos) << metrics->body;
}

// SIGTERM while kiosks wait on long polls: every poll is answered at once with the order as it
// is, the request under way gets its whole answer, and the service exits cleanly.
TEST(CloudProcesses, StoppingAnswersLongPollsAndCutsNoRequest) {
  CloudProcess cloud(CloudProcess::Options{});
  cloud.seedDemo();
  KioskClient kiosk(cloud.port(), "kiosk-demo", CloudProcess::kKioskSecret);
  const std::string id = newOrder(kiosk);
  std::vector<std::future<std::pair<Reply, std::chrono::steady_clock::time_point>>> polls;
  for (int i = 0; i < 20; ++i) {
    polls.push_back(std::async(std::launch::async, [&cloud, id] {
      KioskClient poller(cloud.port(), "kiosk-demo", CloudProcess::kKioskSecret);
      auto reply = poller.get("/v1/kiosk/orders/" + id + "?wait=25&since=CREATED");
      return std::make_pair(reply, std::chrono::steady_clock::now());
    }));
  }
  // A body that is still arriving when the stop begins is a request not yet taken: it is
  // read to its end and answered, not cut.
  RawConnection sending(cloud.port());
  const std::string body = json{{"idempotency_key", "stop-1"}}.dump();
  ASSERT_TRUE(sending.send("POST /v1/kiosk/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 5)));
  std::this_thread::sleep_for(1s);
  const auto stopping = std::chrono::steady_clock::now();
  std::thread stopper([&] { EXPECT_EQ(cloud.stop(), 0) << "kiosk-cloud did not exit cleanly on SIGTERM"; });
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(sending.send(body.substr(5)));
  const Reply late = sending.readReply(5s);
  EXPECT_EQ(late.status, 401) << "the request under way was cut: " << late.text;
  EXPECT_EQ(late.errorCode(), "UNAUTHORIZED") << late.text;
  EXPECT_TRUE(sending.closedWithin(2s));
  for (auto& poll : polls) {
    auto [reply, at] = poll.get();
    EXPECT_EQ(reply.status, 200) << reply.text;
    EXPECT_EQ(reply.body.value("state", ""), "CREATED") << reply.text;
    EXPECT_LT(at - stopping, 5s) << "a long poll was held after the stop began";
  }
  stopper.join();
  std::ifstream logFile(cloud.dir() / "cloud.log");
  std::string log;
  for (std::string line; std::getline(logFile, line);) log += line + "\n";
  EXPECT_EQ(log.find("still unanswered"), std::string::npos) << "the stop waited for answers already given:\n" << log;
  EXPECT_NE(log.find("kiosk-cloud stopped"), std::string::npos) << log;
}

// The same over HTTPS, where the listener is reachable from anywhere: clients that never finish
// their TLS handshake are dropped at the deadline and a kiosk is served meanwhile.
TEST(CloudProcesses, SlowTlsHandshakesAreDroppedAndDoNotStarveKiosks) {
  const auto dir = platform::makeTempDir("kiosk-tls-slow-");
  ASSERT_TRUE(writeSelfSignedCertificate(dir));
  CloudProcess::Options options;
  options.extraJson = json{{"listen", "0.0.0.0"},
                           {"tls_cert", (dir / "cert.pem").string()},
                           {"tls_key", (dir / "key.pem").string()},
                           {"threads", 4},
                           {"request_read_timeout_seconds", 2}}.dump();
  CloudProcess tls(options);
  // A TLS record header, then a ClientHello that never ends.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 6; ++i) {
    slow.push_back(std::make_unique<RawConnection>(tls.port()));
    ASSERT_TRUE(slow.back()->send(std::string("\x16\x03\x01\x02\x00", 5)));
  }
  std::atomic<bool> done{false};
  std::thread dribbler([&] {
    for (int second = 0; second < 20 && !done; ++second) {
      for (auto& connection : slow) (void)connection->send(std::string(1, '\x01'));
      for (int slice = 0; slice < 10 && !done; ++slice) std::this_thread::sleep_for(100ms);
    }
  });
  std::this_thread::sleep_for(300ms);
  httplib::SSLClient client("127.0.0.1", tls.port());
  client.enable_server_certificate_verification(false);
  client.set_read_timeout(std::chrono::seconds(60));
  const auto started = std::chrono::steady_clock::now();
  auto health = client.Get("/healthz");
  const auto took = std::chrono::steady_clock::now() - started;
  done = true;
  dribbler.join();
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  EXPECT_LT(took, 6s) << "a client waited behind the slow handshakes";
  for (auto& connection : slow) EXPECT_TRUE(connection->closedWithin(5s));
}

}  // namespace
}  // namespace kiosk::cloud::test
