// The local journal: durable settings, steps and their outbox events in order, state that
// survives reopening and a SIGKILL right after a step, and a full disk that records nothing.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include <filesystem>

#include "tests/support/cloud_fixture.hpp"
#include "payments/journal.hpp"
#include "platform/temp_dir.hpp"

namespace kiosk::payments::test {
namespace {

constexpr std::int64_t kAt = 1767225600;

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override { dir = platform::makeTempDir("kiosk-journal-"); }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::unique_ptr<Journal> open(Journal::Options options = {}) {
    auto journal = Journal::open(dir / "journal.sqlite", options);
    EXPECT_TRUE(journal) << (journal ? "" : describe(journal.error()));
    return journal ? std::move(*journal) : nullptr;
  }
  static OrderRequest request(const std::string& key = "key-1") {
    return {key, "8800000001", 5000, "0102030405060708"};
  }
  static std::vector<std::string> types(const std::vector<OutboxEvent>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.type);
    return out;
  }

  std::filesystem::path dir;
};

TEST_F(JournalTest, IsWriteAheadLoggedAndSyncedAtEveryCommit) {
  auto journal = open();
  const auto [mode, synchronous] = journal->durability();
  EXPECT_EQ(mode, "wal");
  EXPECT_EQ(synchronous, 2);  // FULL
}

TEST_F(JournalTest, RecordsStepsInOrderWithNumberedEvents) {
  auto journal = open();
  auto tx = journal->beginTopUp(request(), "41000001", kAt);
  ASSERT_TRUE(tx);
  EXPECT_EQ(tx->step, Step::OrderRequested);
  EXPECT_TRUE(tx->open());
  TxUpdate created;
  created.orderId = "ord_1";
  created.credit = 5000;
  created.qrUrl = "http://127.0.0.1/pay/ord_1";
  ASSERT_TRUE(journal->record(tx->id, Step::OrderCreated, created, "{}", kAt + 1));
  ASSERT_TRUE(journal->record(tx->id, Step::QrShown, {}, "{}", kAt + 1));
  ASSERT_TRUE(journal->record(tx->id, Step::Paid, {}, "{}", kAt + 20));
  TxUpdate token;
  token.tokenHex = std::string(64, 'A');
  token.tokenSeq = 7;
  auto fetched = journal->record(tx->id, {Step::ScriptFetched, Step::ApduSent}, token, "{}", kAt + 21);
  ASSERT_TRUE(fetched);
  EXPECT_EQ(fetched->step, Step::ApduSent);
  EXPECT_EQ(fetched->tokenSeq, 7);
  EXPECT_EQ(fetched->orderId, "ord_1");  // earlier fields are kept
  ASSERT_TRUE(journal->record(tx->id, Step::ReadBack, {}, "{}", kAt + 21));
  auto done = journal->finish(tx->id, Outcome::Delivered, "{}", kAt + 22);
  ASSERT_TRUE(done);
  EXPECT_FALSE(done->open());
  EXPECT_EQ(done->step, Step::Confirmed);

  auto steps = journal->steps(tx->id);
  ASSERT_TRUE(steps);
  EXPECT_EQ(*steps, (std::vector<std::string>{"order_requested", "order_created", "qr_shown", "paid",
                                              "script_fetched", "apdu_sent", "read_back",
                                              "confirmed"}));
  auto events = journal->pendingEvents(100);
  ASSERT_TRUE(events);
  EXPECT_EQ(types(*events),
            (std::vector<std::string>{"tx.order_requested", "tx.order_created", "tx.qr_shown",
                                      "tx.paid", "tx.script_fetched", "tx.apdu_sent",
                                      "tx.read_back", "tx.confirmed"}));
  for (std::size_t i = 1; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].seq, (*events)[i - 1].seq + 1);
  }
  const auto last = nlohmann::json::parse(events->back().data);
  EXPECT_EQ(last["order_id"], "ord_1");
  EXPECT_EQ(last["outcome"], "delivered");
  EXPECT_EQ(last["token_sequence"], 7);
  auto unfinished = journal->unfinished();
  ASSERT_TRUE(unfinished);
  EXPECT_TRUE(unfinished->empty());
}

TEST_F(JournalTest, EverythingSurvivesReopening) {
  std::int64_t id = 0;
  {
    auto journal = open();
    auto tx = journal->beginTopUp(request(), "41000001", kAt);
    ASSERT_TRUE(tx);
    id = tx->id;
    TxUpdate created;
    created.orderId = "ord_2";
    ASSERT_TRUE(journal->record(id, Step::OrderCreated, created, "{}", kAt));
    ASSERT_TRUE(journal->event("card.read", R"({"card_number":"8800000001"})", kAt));
    ASSERT_TRUE(journal->saveConfig(R"({"k":1})", "\"etag-1\""));
  }
  auto journal = open();
  auto unfinished = journal->unfinished();
  ASSERT_TRUE(unfinished);
  ASSERT_EQ(unfinished->size(), 1U);
  const TxRecord& tx = unfinished->front();
  EXPECT_EQ(tx.id, id);
  EXPECT_EQ(tx.orderId, "ord_2");
  EXPECT_EQ(tx.step, Step::OrderCreated);
  // The exact request, for a replay with the same idempotency key.
  EXPECT_EQ(CloudClient::orderBody(tx.request()), CloudClient::orderBody(request()));
  auto events = journal->pendingEvents(100);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), 3U);
  auto config = journal->loadConfig();
  ASSERT_TRUE(config);
  ASSERT_TRUE(config->has_value());
  EXPECT_EQ((*config)->second, "\"etag-1\"");
}

// A journal written before the delivery proof (no columns for its nonce and proof) opens
// with its open transaction intact, and takes the new columns from then on.
TEST_F(JournalTest, AJournalFromBeforeTheDeliveryProofKeepsItsTransactions) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "journal.sqlite").c_str(), &db), SQLITE_OK);
  const char* old = R"SQL(
CREATE TABLE transactions (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, card_number TEXT NOT NULL,
  meter_number TEXT NOT NULL DEFAULT '', idempotency_key TEXT UNIQUE,
  amount INTEGER NOT NULL DEFAULT 0, challenge TEXT NOT NULL DEFAULT '', order_id TEXT UNIQUE,
  credit INTEGER NOT NULL DEFAULT 0, fees INTEGER NOT NULL DEFAULT 0,
  qr_url TEXT NOT NULL DEFAULT '', expires_at INTEGER NOT NULL DEFAULT 0,
  token_hex TEXT NOT NULL DEFAULT '', token_seq INTEGER NOT NULL DEFAULT 0, step TEXT NOT NULL,
  outcome TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
INSERT INTO transactions (kind, card_number, order_id, credit, token_hex, token_seq, step,
  created_at, updated_at) VALUES ('topup', '8800000001', 'ord_0123456789abcdef01234567', 5000,
  'AB', 9, 'apdu_sent', 1767225600, 1767225601);
)SQL";
  ASSERT_EQ(sqlite3_exec(db, old, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);

  auto journal = open();
  ASSERT_TRUE(journal);
  auto pending = journal->unfinished();
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 1U);
  const TxRecord tx = pending->front();
  EXPECT_EQ(tx.orderId, "ord_0123456789abcdef01234567");
  EXPECT_EQ(tx.step, Step::ApduSent);
  EXPECT_EQ(tx.tokenSeq, 9);
  EXPECT_EQ(tx.deliveryNonce, "");
  TxUpdate proof;
  proof.deliveryNonce = "00112233445566778899AABBCCDDEEFF";
  proof.deliveryProof = R"({"card_signature":"3045"})";
  auto read = journal->record(tx.id, Step::ReadBack, proof, "{}", kAt);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->deliveryNonce, "00112233445566778899AABBCCDDEEFF");
  journal.reset();
  auto again = open();
  EXPECT_EQ(again->transaction(tx.id)->deliveryProof, R"({"card_signature":"3045"})");
}

// Meter readings are kept across restarts until the cloud has them; the same RETURN read
// from the same card again is kept once.
TEST_F(JournalTest, MeterReadingsAreKeptOnceUntilDone) {
  auto journal = open();
  ASSERT_TRUE(journal->keepReading("8800000001", "0101AB", kAt));
  ASSERT_TRUE(journal->keepReading("8800000001", "0101AB", kAt + 60));
  ASSERT_TRUE(journal->keepReading("8800000002", "0101AB", kAt + 61));
  ASSERT_TRUE(journal->keepReading("8800000001", "0101CD", kAt + 62));
  journal.reset();
  journal = open();
  auto kept = journal->pendingReadings(10);
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->size(), 3U);
  EXPECT_EQ((*kept)[0].cardNumber, "8800000001");
  EXPECT_EQ((*kept)[0].returnHex, "0101AB");
  EXPECT_EQ((*kept)[0].readAt, kAt);
  EXPECT_EQ((*kept)[2].returnHex, "0101CD");
  ASSERT_TRUE(journal->readingDone((*kept)[0].id));
  EXPECT_EQ(journal->pendingReadings(10)->size(), 2U);
}

TEST_F(JournalTest, AcknowledgementsOnlyMoveForward) {
  auto journal = open();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(journal->event("e", "{}", kAt + i));
  ASSERT_TRUE(journal->acknowledge(3));
  ASSERT_TRUE(journal->acknowledge(2));  // a late answer to an older batch
  EXPECT_EQ(*journal->acknowledged(), 3);
  auto events = journal->pendingEvents(100);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2U);
  EXPECT_EQ(events->front().seq, 4);
  auto limited = journal->pendingEvents(1);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 1U);
  EXPECT_EQ(*journal->lastSequence(), 5);
}

TEST_F(JournalTest, AdoptingPaidCreditTwiceKeepsOneTransaction) {
  auto journal = open();
  auto first = journal->adoptPaid("ord_3", "8800000001", "41000001", 2000, kAt);
  auto second = journal->adoptPaid("ord_3", "8800000001", "41000001", 2000, kAt + 5);
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  EXPECT_EQ(first->id, second->id);
  EXPECT_EQ(first->kind, TxKind::Pending);
  EXPECT_EQ(first->step, Step::Paid);
  auto all = journal->all();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1U);
}

TEST_F(JournalTest, AFullDiskIsAnErrorAndRecordsNothing) {
  auto journal = open({.crashAfter = {}, .maxPageCount = 16});
  auto tx = journal->beginTopUp(request(), "41000001", kAt);
  ASSERT_TRUE(tx);
  const std::string big(2000, 'x');
  Journaled<std::int64_t> added = std::int64_t{0};
  for (int i = 0; i < 200 && added; ++i) added = journal->event("filler", "{\"x\":\"" + big + "\"}", kAt);
  ASSERT_FALSE(added) << "the cap was never reached";
  EXPECT_EQ(added.error(), JournalError::DiskFull);
  TxUpdate created;
  created.orderId = "ord_full";
  auto recorded = journal->record(tx->id, Step::OrderCreated, created, "{\"y\":\"" + big + "\"}", kAt);
  ASSERT_FALSE(recorded);
  EXPECT_EQ(recorded.error(), JournalError::DiskFull);
  auto still = journal->transaction(tx->id);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->step, Step::OrderRequested);
  EXPECT_TRUE(still->orderId.empty());
}

TEST_F(JournalTest, AStepIsOnDiskWhenTheProcessIsKilledRightAfterIt) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto journal = Journal::open(dir / "journal.sqlite", {.crashAfter = "paid", .maxPageCount = 0});
    if (!journal) _exit(3);
    auto tx = (*journal)->beginTopUp(request(), "41000001", kAt);
    if (!tx) _exit(4);
    (void)(*journal)->record(tx->id, Step::Paid, {}, "{}", kAt + 1);
    _exit(5);  // not reached: the journal killed the process
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  auto journal = open();
  auto unfinished = journal->unfinished();
  ASSERT_TRUE(unfinished);
  ASSERT_EQ(unfinished->size(), 1U);
  EXPECT_EQ(unfinished->front().step, Step::Paid);
}

}  // namespace
}  // namespace kiosk::payments::test
