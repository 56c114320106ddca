// The engine on an in-process cloud and an in-process virtual card: what it does at start with
// each unfinished transaction in the journal, and that a script it must not trust never
// reaches the card.

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>

#include "tests/support/cloud_fixture.hpp"
#include "card/virtual_card.hpp"
#include "cloud_json.hpp"
#include "fake_transport.hpp"
#include "payments/reader_port.hpp"
#include "payments/engine.hpp"
#include "platform/temp_dir.hpp"

namespace kiosk::payments::test {
namespace {

using namespace std::chrono_literals;
constexpr const char* kOrder = "ord_resume0000000000000001";

class Notices {
 public:
  void add(const Notice& notice) {
    std::lock_guard lock(m_mutex);
    m_notices.push_back(notice);
    m_changed.notify_all();
  }
  template <class T>
  std::optional<T> waitFor(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(m_mutex);
    std::optional<T> found;
    m_changed.wait_for(lock, timeout, [&] {
      for (const auto& n : m_notices) {
        if (const auto* t = std::get_if<T>(&n)) found = *t;
      }
      return found.has_value();
    });
    return found;
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<Notice> m_notices;
};

// A one-way signal between threads: wait() returns true once open() was called, false after the
// timeout (so that an engine that never gets there fails the test instead of hanging it).
class Gate {
 public:
  void open() {
    {
      std::lock_guard lock(m_mutex);
      m_open = true;
    }
    m_changed.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, timeout, [&] { return m_open; });
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  bool m_open = false;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = platform::makeTempDir("kiosk-engine-");
    auto opened = Journal::open(dir / "journal.sqlite");
    ASSERT_TRUE(opened);
    journal = std::move(*opened);
    transport.reply("GET", "/v1/kiosk/config", 200, configJson().dump());
    transport.reply("POST", "/v1/kiosk/journal", 200, R"({"accepted":0,"duplicates":0,"last_seq":0})");
    transport.on("POST", "/v1/kiosk/journal", [](const HttpRequest& request) -> Result<HttpResponse, TransportFailure> {
      const auto body = json::parse(request.body);
      const auto count = static_cast<std::int64_t>(body["events"].size());
      const std::int64_t last = body["events"].back()["seq"];
      return HttpResponse{200, {}, json{{"accepted", count}, {"duplicates", 0}, {"last_seq", last}}.dump()};
    });
  }
  void TearDown() override {
    engine.reset();
    std::filesystem::remove_all(dir);
  }

  static EngineOptions fastOptions() {
    EngineOptions options;
    options.retryInitial = 20ms;
    options.retryMax = 100ms;
    options.writeWindow = 1s;
    options.syncInterval = 200ms;
    return options;
  }
  void startEngine(EngineOptions options = fastOptions()) {
    engine =
        std::make_unique<Engine>(*journal, client, port, clock, options, [this](const Notice& n) {
          notices.add(n);
          if (onNotice) onNotice(n);
        });
    engine->start();
  }
  // The journal again, capped at `pages` database pages: reaching the cap fails a write as a
  // full disk does.
  void capJournal(std::int64_t pages) {
    journal.reset();
    auto opened = Journal::open(dir / "journal.sqlite", {.crashAfter = {}, .maxPageCount = pages});
    ASSERT_TRUE(opened);
    journal = std::move(*opened);
  }
  // Takes the last free pages of a capped journal, so that the next step or event anyone
  // records fails as on a full disk. The kept config is the ballast: freeJournalRoom() puts it
  // back as it was, and the room with it.
  void fillJournal() {
    auto kept = journal->loadConfig();
    ASSERT_TRUE(kept && kept->has_value())
        << "fill the journal after the first sync kept the config";
    keptConfig = **kept;
    std::string ballast;
    for (std::size_t size = std::size_t{1} << 20; size >= 256; size /= 2) {
      if (journal->saveConfig(ballast + std::string(size, ' '), "ballast"))
        ballast.append(size, ' ');
    }
    // The crumbs, down to an event with no data at all.
    for (const std::size_t size : {8192U, 1024U, 128U, 16U, 0U}) {
      while (journal->event("x", std::string(size, ' '), clock.unixSeconds())) {
      }
    }
    ASSERT_FALSE(journal->event("x", "", clock.unixSeconds())) << "the journal still has room";
  }
  void freeJournalRoom() { ASSERT_TRUE(journal->saveConfig(keptConfig.first, keptConfig.second)); }
  // Asks `done` every few milliseconds until it holds or the timeout passes.
  template <class Done>
  static bool eventually(Done done, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }
  // The card in the reader, read and authenticated by the engine.
  void insertCard() {
    engine->cardInserted();
    port.cardInserted();
    engine->readCard();
    ASSERT_TRUE(notices.waitFor<notice::CardRead>());
  }
  // A top-up journaled up to `step`, as a crash would leave it.
  TxRecord journaled(Step step, const std::string& tokenHex = {}) {
    auto tx = journal->beginTopUp({"key-resume", kCard, 5000, "0102030405060708"}, kMeter, 1767225600);
    EXPECT_TRUE(tx);
    TxUpdate created;
    created.orderId = kOrder;
    created.credit = 5000;
    created.expiresAt = 1767225900;
    if (step >= Step::OrderCreated) tx = journal->record(tx->id, Step::OrderCreated, created, "{}", 1767225601);
    if (step >= Step::QrShown) tx = journal->record(tx->id, Step::QrShown, {}, "{}", 1767225601);
    if (step >= Step::Paid) tx = journal->record(tx->id, Step::Paid, {}, "{}", 1767225610);
    if (step >= Step::ApduSent) {
      TxUpdate token;
      token.tokenHex = tokenHex;
      token.tokenSeq = card::decodeToken(*kiosk::fromHex(tokenHex))->sequence;
      token.deliveryNonce = kDeliveryNonce;
      tx = journal->record(tx->id, {Step::ScriptFetched, Step::ApduSent}, token, "{}", 1767225611);
    }
    if (step >= Step::ReadBack) {
      // The card's proof, as it gave it with the read-back.
      TxUpdate proven;
      proven.deliveryProof = DeliveryProof{proofFor(tokenHex), ""}.toJson();
      tx = journal->record(tx->id, Step::ReadBack, proven, "{}", 1767225612);
    }
    return *tx;
  }
  // The card's signature of the token's record with the test cloud's nonce, as the card makes it.
  std::string proofFor(const std::string& tokenHex) {
    const auto token = card::decodeToken(*kiosk::fromHex(tokenHex));
    const auto id = card::decodeIdFile(virtualCard.image().id);
    const auto key = card::EcKey::fromPrivateScalar(virtualCard.image().cardPrivateKey, id->cardPublicKey);
    const auto message = card::deliveryProofMessage(id->cardNumber, card::creditRecordFor(token->sequence),
                                                    *kiosk::fromHex(tokenHex), *kiosk::fromHex(kDeliveryNonce));
    return kiosk::toHex(key->sign(message).value());
  }
  // Whether a POST /delivered carries the card's own proof of `tokenHex` with the nonce.
  bool carriesCardProof(const HttpRequest& delivered, const std::string& tokenHex) {
    const auto body = json::parse(delivered.body);
    if (!body.contains("proof") || !body["proof"].contains("card_signature")) return false;
    const auto token = card::decodeToken(*kiosk::fromHex(tokenHex));
    const auto id = card::decodeIdFile(virtualCard.image().id);
    const auto key = card::EcKey::fromPublicPoint(id->cardPublicKey);
    const auto message = card::deliveryProofMessage(id->cardNumber, card::creditRecordFor(token->sequence),
                                                    *kiosk::fromHex(tokenHex), *kiosk::fromHex(kDeliveryNonce));
    return key->verify(message, *kiosk::fromHex(body["proof"]["card_signature"].get<std::string>()));
  }
  void cloudSays(const std::string& state) {
    transport.reply("GET", std::string("/v1/kiosk/orders/") + kOrder, 200,
                    orderJson(sampleOrder(kOrder, state)).dump());
  }
  TxRecord waitSettled(std::int64_t id, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto tx = journal->transaction(id);
      if (!tx || !tx->open() || std::chrono::steady_clock::now() > deadline) return tx.value_or(TxRecord{});
      std::this_thread::sleep_for(20ms);
    }
  }
  std::string tokenHex(std::uint32_t sequence, std::uint32_t amount = 5000) {
    return kiosk::toHex(card::encodeToken(card::test::mintedToken(sequence, amount)));
  }
  card::CardImage cardNow() const { return virtualCard.image(); }
  // How many of the card's credit records hold the token: 1 is one credit.
  std::size_t recordsHolding(const std::string& hex) const {
    const card::CardImage image = cardNow();
    return static_cast<std::size_t>(
        std::count(image.credit.begin(), image.credit.end(), *kiosk::fromHex(hex)));
  }
  // Waits for the write to end and checks that kOrder's token 9 (5000) is on the card once and
  // its transaction closed as delivered; `steps` gets the steps the journal holds for it.
  void expectDeliveredOnce(std::vector<std::string>& steps) {
    const auto done = notices.waitFor<notice::WriteDone>();
    ASSERT_TRUE(done);
    ASSERT_EQ(done->deliveries.size(), 1U);
    EXPECT_EQ(done->deliveries[0].orderId, kOrder);
    EXPECT_EQ(done->deliveries[0].sequence, 9U);
    EXPECT_EQ(done->deliveries[0].credit, 5000);
    EXPECT_EQ(recordsHolding(tokenHex(9)), 1U);
    auto tx = journal->byOrder(kOrder);
    ASSERT_TRUE(tx && tx->has_value());
    EXPECT_EQ(waitSettled((*tx)->id).outcome, Outcome::Delivered);
    auto recorded = journal->steps((*tx)->id);
    ASSERT_TRUE(recorded);
    steps = std::move(*recorded);
  }

  std::filesystem::path dir;
  std::unique_ptr<Journal> journal;
  FakeTransport transport;
  platform::ManualClock clock{std::chrono::system_clock::time_point(std::chrono::seconds(1767225620))};
  CloudClient client{transport, RequestSigner("kiosk-demo", "secret", clock)};
  card::VirtualCard virtualCard{card::test::standardCard()};
  ReaderCardPort port{
      [this]() -> Result<std::unique_ptr<card::CardChannel>, card::CardError> {
        return std::unique_ptr<card::CardChannel>(std::make_unique<card::LocalChannel>(virtualCard));
      },
      card::test::loadKey(card::test::kIssuerPem).publicOnly()};
  Notices notices;
  // Called on the engine's thread for every notice, after it is kept: the flow's reaction
  // (set before startEngine()).
  std::function<void(const Notice&)> onNotice;
  std::pair<std::string, std::string> keptConfig;  // see fillJournal()
  std::unique_ptr<Engine> engine;
};

TEST_F(EngineTest, ResumesAnUnansweredOrderRequestByReplayingItThenCancels) {
  const TxRecord tx = journaled(Step::OrderRequested);
  transport.reply("POST", "/v1/kiosk/orders", 200, orderJson(sampleOrder(kOrder)).dump());
  transport.reply("POST", std::string("/v1/kiosk/orders/") + kOrder + "/cancel", 200,
                  orderJson(sampleOrder(kOrder, "CANCELED")).dump());
  cloudSays("CREATED");
  startEngine();
  const TxRecord settled = waitSettled(tx.id);
  EXPECT_EQ(settled.outcome, Outcome::Cancelled);
  EXPECT_EQ(settled.orderId, kOrder);
  // The replay carries the very same bytes, so the cloud's idempotency key matches.
  for (const auto& request : transport.requests()) {
    if (request.method == "POST" && request.target == "/v1/kiosk/orders") {
      EXPECT_EQ(request.body, CloudClient::orderBody(tx.request()));
    }
  }
  EXPECT_EQ(transport.count("POST", "/v1/kiosk/orders/" + std::string(kOrder) + "/script"), 0U);
}

TEST_F(EngineTest, ResumesAShownQrCodeByCancellingTheOrder) {
  const TxRecord tx = journaled(Step::QrShown);
  cloudSays("CREATED");
  transport.reply("POST", std::string("/v1/kiosk/orders/") + kOrder + "/cancel", 200,
                  orderJson(sampleOrder(kOrder, "CANCELED")).dump());
  startEngine();
  EXPECT_EQ(waitSettled(tx.id).outcome, Outcome::Cancelled);
  auto steps = journal->steps(tx.id);
  ASSERT_TRUE(steps);
  EXPECT_EQ(steps->back(), "closed");
  EXPECT_NE(std::find(steps->begin(), steps->end(), "cancel_requested"), steps->end());
}

TEST_F(EngineTest, APaymentThatArrivedDuringTheCrashWaitsForTheCardWithoutATokenFetch) {
  const TxRecord tx = journaled(Step::QrShown);
  cloudSays("PAID");
  startEngine();
  ASSERT_TRUE(engine->syncAndWait(5s));
  auto now = journal->transaction(tx.id);
  ASSERT_TRUE(now);
  EXPECT_TRUE(now->open());
  EXPECT_EQ(now->step, Step::Paid);
  EXPECT_EQ(transport.count("POST", "/v1/kiosk/orders/" + std::string(kOrder) + "/script"), 0U);
  EXPECT_EQ(transport.count("POST", "/v1/kiosk/orders/" + std::string(kOrder) + "/cancel"), 0U);
}

// What the meter wrote on the card, read while the cloud is unreachable, is kept and uploaded
// once the cloud is back: exactly the RETURN the card held, once.
TEST_F(EngineTest, AMeterReadingReadOfflineIsUploadedWhenTheCloudIsBack) {
  card::ReturnRecord reading;
  reading.meterNumber = card::test::kMeterNumber;
  reading.lastSequence = 4;
  reading.remainingCredit = 1234;
  reading.consumption = 98765;
  reading.timestamp = 1767225000;
  card::sealReturn(reading, card::deriveReturnKey(card::test::kVendingKey, card::test::kMeterNumber, 1));
  const std::string returnHex = kiosk::toHex(card::encodeReturn(reading));
  virtualCard.image().meterReturn = card::encodeReturn(reading);
  transport.failWith("GET", "/v1/kiosk/cards/", CURLE_COULDNT_CONNECT);
  transport.failWith("POST", "/v1/kiosk/readings", CURLE_COULDNT_CONNECT);
  startEngine();
  insertCard();
  engine->lookupAccount(kCard);
  auto ready = notices.waitFor<notice::AccountReady>();
  ASSERT_TRUE(ready);
  EXPECT_TRUE(ready->offline);

  // Back online: what the cloud is sent from now on.
  const std::size_t offlineRequests = transport.requests().size();
  transport.reply("POST", "/v1/kiosk/readings", 200, R"({"stored":true,"tokens_loaded":1})");
  auto uploaded = [&] {
    const auto requests = transport.requests();
    std::size_t n = 0;
    for (std::size_t i = offlineRequests; i < requests.size(); ++i) {
      const auto& r = requests[i];
      if (r.method == "POST" && r.target == "/v1/kiosk/readings" &&
          json::parse(r.body)["return"] == returnHex && json::parse(r.body)["card_number"] == kCard) {
        ++n;
      }
    }
    return n;
  };
  ASSERT_TRUE(engine->syncAndWait(10s));
  EXPECT_EQ(uploaded(), 1U) << "the reading read offline was never uploaded";
  ASSERT_TRUE(engine->syncAndWait(5s));
  EXPECT_EQ(uploaded(), 1U) << "an uploaded reading is not sent again";
}

TEST_F(EngineTest, AReadBackTokenIsConfirmedWithoutTheCard) {
  const TxRecord tx = journaled(Step::ReadBack, tokenHex(9));
  cloudSays("TOKEN_ISSUED");
  transport.reply("POST", std::string("/v1/kiosk/orders/") + kOrder + "/delivered", 200,
                  orderJson(sampleOrder(kOrder, "DELIVERED")).dump());
  startEngine();
  EXPECT_EQ(waitSettled(tx.id).outcome, Outcome::Delivered);
  const auto requests = transport.requests();
  const auto delivered = std::find_if(requests.begin(), requests.end(), [](const HttpRequest& r) {
    return r.target.ends_with("/delivered");
  });
  ASSERT_NE(delivered, requests.end());
  EXPECT_EQ(json::parse(delivered->body)["sequence"], 9);
  EXPECT_TRUE(carriesCardProof(*delivered, tokenHex(9))) << delivered->body;
}

// The card left between the read-back and its proof: nothing is confirmed without it, and
// the card proves the delivery at its next insertion.
TEST_F(EngineTest, AReadBackWithoutTheCardsProofWaitsForTheCard) {
  const std::string hex = tokenHex(9);
  TxRecord tx = journaled(Step::ApduSent, hex);
  tx = journal->record(tx.id, Step::ReadBack, {}, "{}", 1767225612).value();
  virtualCard.image().credit[card::creditRecordFor(9) - 1] = *kiosk::fromHex(hex);
  cloudSays("TOKEN_ISSUED");
  transport.reply("POST", std::string("/v1/kiosk/orders/") + kOrder + "/delivered", 200,
                  orderJson(sampleOrder(kOrder, "DELIVERED")).dump());
  startEngine();
  ASSERT_TRUE(engine->syncAndWait(5s));
  EXPECT_EQ(transport.count("POST", "/v1/kiosk/orders/" + std::string(kOrder) + "/delivered"), 0U);
  EXPECT_TRUE(journal->transaction(tx.id)->open());
  insertCard();
  engine->writeToken(kOrder, kCard);
  ASSERT_TRUE(notices.waitFor<notice::WriteDone>());
  EXPECT_EQ(waitSettled(tx.id).outcome, Outcome::Delivered);
  const auto requests = transport.requests();
  const auto delivered = std::find_if(requests.begin(), requests.end(), [](const HttpRequest& r) {
    return r.target.ends_with("/delivered");
  });
  ASSERT_NE(delivered, requests.end());
  EXPECT_TRUE(carriesCardProof(*delivered, hex)) << delivered->body;
  EXPECT_EQ(transport.count("POST", "/v1/kiosk/orders/" + std::string(kOrder) + "/script"), 0U);
}

TEST_F(EngineTest, ATokenAlreadyOnTheCardIsConfirmedNotWrittenAgain) {
  const std::string hex = tokenHex(9);
  const TxRecord tx = journaled(Step::ApduSent, hex);
  // The UPDATE reached the card before the crash.
  virtualCard.image().credit[card::creditRecordFor(9) - 1] = *kiosk::fromHex(hex);
  cloudSays("TOKEN_ISSUED");
  transport.reply("POST", std::string("/v1/kiosk/orders/") + kOrder + "/delivered", 200,
                  orderJson(sampleOrder(kOrder, "DELIVERED")).dump());
  startEngine();
  insertCard();
  engine->writeToken(kOrder, kCard);
  auto done = notices.waitFor<notice::WriteDone>();
  ASSERT_TRUE(done);
  ASSERT_EQ(done->deliveries.size(), 1U);
  EXPECT_EQ(done->deliveries[0].sequence, 9U);
  EXPECT_EQ(waitSettled(tx.id).outcome, Outcome::Delivered);
  EXPECT_EQ(transport.count("POST", "/v1/kiosk/orders/" + std::string(kOrder) + "/script"), 0U);
  const auto requests = transport.requests();
  const auto delivered = std::find_if(requests.begin(), requests.end(), [](const HttpRequest& r) {
    return r.target.ends_with("/delivered");
  });
  ASSERT_NE(delivered, requests.end());
  EXPECT_TRUE(carriesCardProof(*delivered, hex)) << delivered->body;
}

TEST_F(EngineTest, ASecondTokenForAJournaledOrderNeverReachesTheCard) {
  const TxRecord tx = journaled(Step::ApduSent, tokenHex(9));
  cloudSays("TOKEN_ISSUED");
  // The cloud (wrongly) mints another token for the same order.
  transport.on("POST", std::string("/v1/kiosk/orders/") + kOrder + "/script",
               [](const HttpRequest& request) -> Result<HttpResponse, TransportFailure> {
                 const std::string challenge = json::parse(request.body)["challenge"];
                 return HttpResponse{200, {}, scriptJson(kOrder, 10, 5000, challenge).dump()};
               });
  startEngine();
  insertCard();
  const card::CardImage before = cardNow();
  engine->writeToken(kOrder, kCard);
  auto failed = notices.waitFor<notice::WriteFailed>();
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->detail.find("another token"), std::string::npos) << failed->detail;
  EXPECT_EQ(cardNow().credit, before.credit);  // nothing written
  auto still = journal->transaction(tx.id);
  ASSERT_TRUE(still);
  EXPECT_TRUE(still->open());  // the credit stays owed to the card
  EXPECT_EQ(still->tokenHex, tokenHex(9));
}

TEST_F(EngineTest, AWriteACrashLeftUnrecordedIsWrittenAgainIntoTheSameRecordOnly) {
  // Paid was on disk, the UPDATE reached the card, and the kiosk died before the token's
  // steps were committed: the journal does not know the token, the card holds it.
  const std::string hex = tokenHex(9);
  const TxRecord tx = journaled(Step::Paid);
  virtualCard.image().credit[card::creditRecordFor(9) - 1] = *kiosk::fromHex(hex);
  cloudSays("TOKEN_ISSUED");
  // The cloud answers every fetch with the order's one token, for the fresh challenge.
  transport.on("POST", std::string("/v1/kiosk/orders/") + kOrder + "/script",
               [](const HttpRequest& request) -> Result<HttpResponse, TransportFailure> {
                 const std::string challenge = json::parse(request.body)["challenge"];
                 return HttpResponse{200, {}, scriptJson(kOrder, 9, 5000, challenge).dump()};
               });
  transport.reply("POST", std::string("/v1/kiosk/orders/") + kOrder + "/delivered", 200,
                  orderJson(sampleOrder(kOrder, "DELIVERED")).dump());
  startEngine();
  insertCard();
  const card::CardImage before = cardNow();
  engine->writeToken(kOrder, kCard);
  auto done = notices.waitFor<notice::WriteDone>();
  ASSERT_TRUE(done);
  ASSERT_EQ(done->deliveries.size(), 1U);
  EXPECT_EQ(done->deliveries[0].sequence, 9U);
  EXPECT_EQ(done->deliveries[0].credit, 5000);
  // The same bytes in the same record, and nothing else on the card moved: one credit.
  EXPECT_EQ(cardNow().credit, before.credit);
  const TxRecord settled = waitSettled(tx.id);
  EXPECT_EQ(settled.outcome, Outcome::Delivered);
  EXPECT_EQ(settled.tokenHex, hex);
  const auto steps = journal->steps(tx.id);
  ASSERT_TRUE(steps);
  for (const char* step : {"script_fetched", "apdu_sent", "read_back", "confirmed"}) {
    EXPECT_NE(std::find(steps->begin(), steps->end(), step), steps->end()) << step;
  }
}

TEST_F(EngineTest, ACardPulledMidWriteLeavesTheTokenItCarriedInTheJournal) {
  const TxRecord tx = journaled(Step::Paid);
  cloudSays("TOKEN_ISSUED");
  transport.on("POST", std::string("/v1/kiosk/orders/") + kOrder + "/script",
               [this](const HttpRequest& request) -> Result<HttpResponse, TransportFailure> {
                 const std::string challenge = json::parse(request.body)["challenge"];
                 // The card leaves the field as the UPDATE is stored, before it answers.
                 virtualCard.armTear(card::TearPoint::AfterCommit);
                 return HttpResponse{200, {}, scriptJson(kOrder, 9, 5000, challenge).dump()};
               });
  startEngine();
  insertCard();
  engine->writeToken(kOrder, kCard);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  TxRecord now;
  while (std::chrono::steady_clock::now() < deadline) {
    auto read = journal->transaction(tx.id);
    ASSERT_TRUE(read);
    now = *read;
    if (now.step == Step::CardPulled) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(now.step, Step::CardPulled);
  EXPECT_TRUE(now.open());
  EXPECT_EQ(now.tokenHex, tokenHex(9)) << "the reinserted card is checked for this token";
}

// The cloud's long poll, as far as the engine can tell: it answers CREATED after a while, or
// gives up at once when the kiosk aborts the call.
Result<HttpResponse, TransportFailure> longPollCreated(const HttpRequest& request) {
  const auto until = std::chrono::steady_clock::now() + 300ms;
  while (std::chrono::steady_clock::now() < until) {
    if (request.cancel != nullptr && request.cancel->load()) {
      return fail(TransportFailure{CURLE_ABORTED_BY_CALLBACK, "aborted"});
    }
    std::this_thread::sleep_for(5ms);
  }
  return HttpResponse{200, {}, orderJson(sampleOrder(kOrder, "CREATED")).dump()};
}

TEST_F(EngineTest, CancelPressedAgainAfterTheCancelWentOutDoesNotHammerTheCloud) {
  transport.reply("POST", "/v1/kiosk/orders", 201, orderJson(sampleOrder(kOrder, "CREATED")).dump());
  transport.on("GET", std::string("/v1/kiosk/orders/") + kOrder, longPollCreated);
  // The payment won the race the cloud says, yet the order still reads CREATED for a moment.
  transport.reply("POST", std::string("/v1/kiosk/orders/") + kOrder + "/cancel", 409,
                  R"({"error":{"code":"INVALID_STATE","message":"order is PAID"}})");
  startEngine();
  insertCard();
  engine->createOrder(kCard, 5000);
  ASSERT_TRUE(notices.waitFor<notice::OrderOpened>());
  engine->cancelOrder(kOrder);
  std::this_thread::sleep_for(200ms);
  engine->cancelOrder(kOrder);  // a second tap, after the first cancel went out
  const std::string orderPath = std::string("/v1/kiosk/orders/") + kOrder;
  const auto before = transport.count("GET", orderPath);
  std::this_thread::sleep_for(1s);
  const auto polls = transport.count("GET", orderPath) - before;
  EXPECT_EQ(transport.count("POST", orderPath + "/cancel"), 1U) << "one cancel, whatever the taps";
  // A 300 ms long poll fits about three times into a second; a spinning wait asks thousands.
  EXPECT_LE(polls, 6U) << "the payment wait asked the cloud " << polls << " times in a second";
  EXPECT_GE(polls, 2U) << "the payment wait stopped asking about an open order";
}

TEST_F(EngineTest, AConfigTheJournalCouldNotKeepIsFetchedWholeAgain) {
  // A journal with little room left: a large config does not fit, small records still do.
  capJournal(64);
  json config = configJson();
  for (int i = 0; i < 20000; ++i) {
    config["blocked_cards"].push_back({{"number", std::to_string(8700000000000000LL + i)}, {"status", "BLOCKED"}});
  }
  transport.on("GET", "/v1/kiosk/config", [config](const HttpRequest&) -> Result<HttpResponse, TransportFailure> {
    return HttpResponse{200, {{"etag", "\"cfg-big\""}}, config.dump()};
  });
  EngineOptions options = fastOptions();
  options.syncInterval = 100ms;
  options.configInterval = 0s;
  startEngine(options);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (transport.count("GET", "/v1/kiosk/config") < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GE(transport.count("GET", "/v1/kiosk/config"), 3U);
  // In use at once: the kiosk refuses the newly blocked cards...
  const auto inUse = engine->config();
  ASSERT_TRUE(inUse);
  EXPECT_EQ(inUse->blockedCards.size(), 20001U);
  // ...but not on disk, so it never says "I have cfg-big": the next refresh brings it whole.
  auto kept = journal->loadConfig();
  ASSERT_TRUE(kept);
  EXPECT_FALSE(kept->has_value()) << "the config did fit; the test needs a smaller journal";
  for (const auto& request : transport.requests()) {
    if (request.target != "/v1/kiosk/config") continue;
    for (const auto& [name, value] : request.headers) {
      EXPECT_NE(name, "If-None-Match") << "asked for changes since " << value << ", which is not on disk";
    }
  }
}

// A config the kiosk cannot read (here a blocked card number that is not a number) leaves the
// kept one in use, is asked for again at the config interval rather than at every sync, and
// reaches the operator once, as a config.refused event in the outbox.
TEST_F(EngineTest, AConfigTheKioskCannotReadKeepsTheOldOneAndIsReportedOnce) {
  EngineOptions options = fastOptions();
  options.syncInterval = 20ms;
  options.configInterval = 1s;
  startEngine(options);
  ASSERT_TRUE(engine->syncAndWait(5s));
  const auto good = engine->config();
  ASSERT_TRUE(good);
  const std::size_t goodFetches = transport.count("GET", "/v1/kiosk/config");

  json bad = configJson();
  bad["blocked_cards"].push_back({{"number", "not-a-number"}, {"status", "BLOCKED"}});
  transport.reply("GET", "/v1/kiosk/config", 200, bad.dump());
  ASSERT_TRUE(eventually([&] { return transport.count("GET", "/v1/kiosk/config") >= goodFetches + 2; }, 10s));
  // Half a config interval, 25 sync cycles: not one of them asks for the config again.
  const std::size_t before = transport.count("GET", "/v1/kiosk/config");
  std::this_thread::sleep_for(500ms);
  EXPECT_LE(transport.count("GET", "/v1/kiosk/config") - before, 1U)
      << "the refused config was fetched at every sync, not at the config interval";
  const auto kept = engine->config();
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->blockedCards.size(), good->blockedCards.size());

  ASSERT_TRUE(engine->syncAndWait(5s));
  int refused = 0;
  for (const auto& request : transport.requests()) {
    if (request.target != "/v1/kiosk/journal") continue;
    const json body = json::parse(request.body);
    for (const auto& event : body["events"]) {
      if (event["type"] == "config.refused") {
        ++refused;
        EXPECT_NE(event["data"].dump().find("blocked_cards"), std::string::npos) << event.dump();
      }
    }
  }
  EXPECT_EQ(refused, 1) << "the operator should hear of a refused config once, not at every fetch";
}

TEST_F(EngineTest, ACancelTheJournalCouldNotRecordIsNotSentAndALaterPaymentStillReachesTheCard) {
  capJournal(64);
  const std::string orderPath = std::string("/v1/kiosk/orders/") + kOrder;
  transport.reply("POST", "/v1/kiosk/orders", 201,
                  orderJson(sampleOrder(kOrder, "CREATED")).dump());
  transport.on("GET", orderPath, longPollCreated);
  // The cloud would cancel the order if it were asked to.
  transport.reply("POST", orderPath + "/cancel", 200,
                  orderJson(sampleOrder(kOrder, "CANCELED")).dump());
  transport.on("POST", orderPath + "/script",
               [](const HttpRequest& request) -> Result<HttpResponse, TransportFailure> {
                 const std::string challenge = json::parse(request.body)["challenge"];
                 return HttpResponse{200, {}, scriptJson(kOrder, 9, 5000, challenge).dump()};
               });
  transport.reply("POST", orderPath + "/delivered", 200,
                  orderJson(sampleOrder(kOrder, "DELIVERED")).dump());
  startEngine();
  ASSERT_TRUE(engine->syncAndWait(5s));  // the config is kept before the disk fills up
  insertCard();
  engine->createOrder(kCard, 5000);
  ASSERT_TRUE(notices.waitFor<notice::OrderOpened>());

  // The disk fills up while the QR code is on the screen, and the resident presses Cancel.
  fillJournal();
  const std::string longPoll = orderPath + "?wait=";
  const auto polls = transport.count("GET", longPoll);
  engine->cancelOrder(kOrder);
  // The payment wait deals with a cancel before its next long poll; two more polls (the first
  // may have been under way already) and it has.
  ASSERT_TRUE(eventually([&] {
    return transport.count("GET", longPoll) >= polls + 2 ||
           transport.count("POST", orderPath + "/cancel") > 0;
  }));
  EXPECT_EQ(transport.count("POST", orderPath + "/cancel"), 0U)
      << "a cancel the journal does not hold went out";
  const auto fault = notices.waitFor<notice::ServiceFault>(0ms);
  ASSERT_TRUE(fault);
  EXPECT_EQ(fault->reasonKey, "oos.disk");

  // Room again: the kiosk is back in service, and the resident, who paid after all, gets the
  // credit on the card like any other payment.
  freeJournalRoom();
  engine->syncNow();
  ASSERT_TRUE(notices.waitFor<notice::ServiceRestored>());
  cloudSays("PAID");
  ASSERT_TRUE(notices.waitFor<notice::OrderPaid>());
  engine->writeToken(kOrder, kCard);
  std::vector<std::string> steps;
  ASSERT_NO_FATAL_FAILURE(expectDeliveredOnce(steps));
  EXPECT_EQ(std::count(steps.begin(), steps.end(), "cancel_requested"), 0);
  EXPECT_EQ(transport.count("POST", orderPath + "/cancel"), 0U);
  EXPECT_EQ(transport.count("POST", orderPath + "/script"), 1U);
}

TEST_F(EngineTest, TheSyncLoopDoesNotConfirmAgainADeliveryTheWriteIsStillConfirming) {
  const std::string orderPath = std::string("/v1/kiosk/orders/") + kOrder;
  transport.reply("POST", "/v1/kiosk/orders", 201,
                  orderJson(sampleOrder(kOrder, "CREATED")).dump());
  cloudSays("PAID");  // the resident pays at once
  // Shared with the engine's threads, which may still call the handlers as the test ends.
  const auto writeStarted = std::make_shared<Gate>();  // the write holds the transaction
  const auto confirming = std::make_shared<Gate>();    // the write waits for the cloud's answer
  const auto answer = std::make_shared<Gate>();        // ... which the test lets through
  // The write is held at its confirmation: the token is on the card and the journal says
  // read_back, a step the sync loop confirms by itself when nobody holds the transaction.
  transport.on(
      "POST", orderPath + "/script",
      [writeStarted](const HttpRequest& request) -> Result<HttpResponse, TransportFailure> {
        writeStarted->open();
        const std::string challenge = json::parse(request.body)["challenge"];
        return HttpResponse{200, {}, scriptJson(kOrder, 9, 5000, challenge).dump()};
      });
  transport.on("POST", orderPath + "/delivered",
               [confirming, answer, first = std::make_shared<std::atomic<bool>>(true)](
                   const HttpRequest&) -> Result<HttpResponse, TransportFailure> {
                 if (first->exchange(false)) {
                   confirming->open();
                   (void)answer->wait();
                 }
                 return HttpResponse{200, {}, orderJson(sampleOrder(kOrder, "DELIVERED")).dump()};
               });
  // The flow starts the write as soon as it hears of the payment; here the payment wait lets go
  // of the transaction only once the write has taken it too.
  onNotice = [this, writeStarted](const Notice& n) {
    if (!std::holds_alternative<notice::OrderPaid>(n)) return;
    engine->writeToken(kOrder, kCard);
    EXPECT_TRUE(writeStarted->wait()) << "the write did not start";
  };
  startEngine();
  insertCard();
  engine->createOrder(kCard, 5000);
  ASSERT_TRUE(confirming->wait()) << "the write never got to confirm the delivery";
  // The token is on the card and the write waits for the cloud to take the confirmation. The
  // payment wait has ended: the order worker runs one job at a time, and refuses this one only
  // after it.
  engine->createOrder(kCard, 0);
  ASSERT_TRUE(notices.waitFor<notice::OrderRefused>());
  ASSERT_TRUE(engine->syncAndWait(5s));
  EXPECT_EQ(transport.count("POST", orderPath + "/delivered"), 1U)
      << "the sync loop confirmed the delivery the write was still confirming";

  answer->open();
  std::vector<std::string> steps;
  ASSERT_NO_FATAL_FAILURE(expectDeliveredOnce(steps));
  EXPECT_EQ(std::count(steps.begin(), steps.end(), "confirmed"), 1);
  EXPECT_EQ(transport.count("POST", orderPath + "/script"), 1U);
  EXPECT_EQ(transport.count("POST", orderPath + "/delivered"), 1U);
}

class BadScript : public EngineTest, public ::testing::WithParamInterface<int> {};

TEST_P(BadScript, IsRefusedAndNothingIsWritten) {
  cloudSays("PAID");
  const int kind = GetParam();
  transport.on("POST", std::string("/v1/kiosk/orders/") + kOrder + "/script",
               [kind](const HttpRequest& request) -> Result<HttpResponse, TransportFailure> {
                 const std::string challenge = json::parse(request.body)["challenge"];
                 json reply;
                 switch (kind) {
                   case 0:  // a token for another meter
                     reply = scriptJson(kOrder, 3, 5000, challenge, 410000999999ULL);
                     break;
                   case 1:  // a script MAC'd for another card of the same meter
                     reply = scriptJson(kOrder, 3, 5000, challenge, card::test::kMeterNumber,
                                        "8600000000000077");
                     break;
                   case 2:  // not JSON at all
                     return HttpResponse{200, {}, "<html>oops</html>"};
                   case 3:  // a field of the wrong type
                     reply = scriptJson(kOrder, 3, 5000, challenge);
                     reply["token"]["sequence"] = "3";
                     break;
                   default:  // the token field missing
                     reply = scriptJson(kOrder, 3, 5000, challenge);
                     reply.erase("token");
                     break;
                 }
                 return HttpResponse{200, {}, reply.dump()};
               });
  auto adopted = journal->adoptPaid(kOrder, kCard, kMeter, 5000, 1767225610);
  ASSERT_TRUE(adopted);
  startEngine();
  insertCard();
  const card::CardImage before = cardNow();
  engine->writeToken(kOrder, kCard);
  const auto failed = notices.waitFor<notice::WriteFailed>(10s);
  ASSERT_TRUE(failed);
  EXPECT_FALSE(notices.waitFor<notice::WriteDone>(100ms));
  EXPECT_EQ(cardNow().credit, before.credit);
  auto still = journal->transaction(adopted->id);
  ASSERT_TRUE(still);
  EXPECT_TRUE(still->open());
  EXPECT_EQ(transport.count("POST", std::string("/v1/kiosk/orders/") + kOrder + "/delivered"), 0U);

  // The error says what was wrong, and the same reason reaches the cloud in the outbox.
  struct Expected {
    const char* detail;  // in the failure the flow gets
    const char* event;   // the outbox event that records it
  };
  static const Expected kExpected[] = {
      {"token is for meter 410000999999", "script.refused"},
      {"card refused the write (security)", "card.write_failed"},
      {"answer is not valid JSON", "cloud.error"},
      {"token.sequence expected an integer", "cloud.error"},
      {"token is missing", "cloud.error"},
  };
  const Expected& expected = kExpected[kind];
  EXPECT_NE(failed->detail.find(expected.detail), std::string::npos) << failed->detail;
  ASSERT_TRUE(engine->syncAndWait(5s));
  bool uploaded = false;
  for (const auto& request : transport.requests()) {
    if (request.target != "/v1/kiosk/journal") continue;
    const json body = json::parse(request.body);
    for (const auto& event : body["events"]) {
      if (event["type"] == expected.event && event["data"].dump().find(kOrder) != std::string::npos) {
        uploaded = true;
      }
    }
  }
  EXPECT_TRUE(uploaded) << "no " << expected.event << " event about " << kOrder << " was uploaded";
}

std::string badScriptName(const ::testing::TestParamInfo<int>& info) {
  static const char* const kNames[] = {"TokenForAnotherMeter", "ScriptForAnotherCard", "NotJson",
                                       "WrongType", "MissingToken"};
  return kNames[info.param];
}

INSTANTIATE_TEST_SUITE_P(FromTheCloud, BadScript, ::testing::Values(0, 1, 2, 3, 4), badScriptName);

}  // namespace
}  // namespace kiosk::payments::test
