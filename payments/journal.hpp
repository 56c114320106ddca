#pragma once
// The kiosk's local journal: one SQLite file in WAL mode with synchronous=FULL. Every step of
// a transaction is committed here before the side effect it announces (order created, QR
// shown, paid, script fetched, APDU sent, read back, confirmed), so that after a crash the
// engine knows what may have happened. The same commit appends the step to the outbox, the
// numbered events that are uploaded to the cloud; the cached kiosk config lives here too.

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "payments/cloud_client.hpp"
#include "platform/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace kiosk::payments {

enum class JournalError {
  DiskFull,   // SQLITE_FULL: nothing was recorded, so the side effect must not happen
  Io,         // read-only file system, I/O error, cannot open
  Corrupt,    // not a journal, or damaged
  Busy,       // another process holds the journal
  NotFound,   // no such transaction
  Closed,     // the transaction has ended: no step can follow
};
std::string_view describe(JournalError error);

template <class T>
using Journaled = Result<T, JournalError>;

// Steps in the order they happen; each is recorded before its side effect. The write of a
// token is one side effect with Paid as its step: the token is the cloud's (one per order, the
// same at every fetch) and lands in the card's record for its sequence, so the steps that name
// it are recorded with what the card showed, in one commit, after the UPDATE.
enum class Step {
  OrderRequested,   // before POST /orders (idempotency key and exact body kept for a replay)
  OrderCreated,     // the cloud made the order; before the QR is shown
  QrShown,          // before the pay screen appears
  CancelRequested,  // before POST /cancel
  Paid,             // before the write starts: the order's credit is owed to this card, and
                    // its token may be fetched and written from here on
  ScriptFetched,    // the token the write carried (recorded with ReadBack or CardPulled)
  ApduSent,         // its UPDATE RECORD went to the card (recorded with ReadBack or CardPulled)
  CardPulled,       // the card left mid-write: the token may or may not be on it
  ReadBack,         // the card shows the token; before POST /delivered
  Confirmed,        // the cloud acknowledged delivery (final)
  Closed,           // ended without delivery here (final): see the outcome
};
std::string_view toString(Step step);
std::optional<Step> stepFromString(std::string_view text);

// Why a transaction ended.
enum class Outcome {
  None,               // still open
  Delivered,          // the token is on the card and the cloud knows
  Declined,
  Expired,
  Cancelled,
  Rejected,           // the cloud refused the order (limits, blocked card)
  DeliveredElsewhere, // another kiosk wrote it
  Refunded,           // the money went back
  FeesOnly,           // all of it paid fees: nothing to write
};
std::string_view toString(Outcome outcome);

enum class TxKind { TopUp, Pending };  // made here, or paid credit found for the card

struct TxRecord {
  std::int64_t id = 0;
  TxKind kind = TxKind::TopUp;
  std::string cardNumber;
  std::string meterNumber;
  std::string idempotencyKey;
  std::int64_t amount = 0;
  std::string challenge;
  std::string orderId;  // empty until the cloud answered
  std::int64_t credit = 0;
  std::int64_t fees = 0;
  std::string qrUrl;
  std::int64_t expiresAt = 0;
  std::string tokenHex;  // empty until a script was fetched
  std::int64_t tokenSeq = 0;
  std::string deliveryNonce;  // hex, with the token: what the card signs as proof
  std::string deliveryProof;  // the proof (DeliveryProof's JSON) once the card gave it
  Step step = Step::OrderRequested;
  Outcome outcome = Outcome::None;
  std::int64_t createdAt = 0;
  std::int64_t updatedAt = 0;

  bool open() const { return outcome == Outcome::None; }
  OrderRequest request() const { return {idempotencyKey, cardNumber, amount, challenge}; }
};

// A meter reading the cloud has not acknowledged yet.
struct PendingReading {
  std::int64_t id = 0;
  std::string cardNumber;
  std::string returnHex;
  std::int64_t readAt = 0;
};

// Fields a step sets on the transaction (only those given).
struct TxUpdate {
  std::optional<std::string> orderId;
  std::optional<std::int64_t> credit;
  std::optional<std::int64_t> fees;
  std::optional<std::string> qrUrl;
  std::optional<std::int64_t> expiresAt;
  std::optional<std::string> tokenHex;
  std::optional<std::int64_t> tokenSeq;
  std::optional<std::string> meterNumber;
  std::optional<std::string> deliveryNonce;
  std::optional<std::string> deliveryProof;
};

class Journal {
 public:
  struct Options {
    // Test hook for crash tests: the process kills itself (SIGKILL) right after this step is
    // committed, before its side effect. Empty: never.
    std::string crashAfter;
    // A cap on the journal's size in database pages (0: none), for a disk quota; reaching it
    // is DiskFull, like a full disk.
    std::int64_t maxPageCount = 0;
  };

  static Journaled<std::unique_ptr<Journal>> open(const std::filesystem::path& file,
                                                  Options options);
  static Journaled<std::unique_ptr<Journal>> open(const std::filesystem::path& file) {
    return open(file, Options{});
  }
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // A new top-up, at step OrderRequested: the request is on disk before it is sent.
  Journaled<TxRecord> beginTopUp(const OrderRequest& request, const std::string& meterNumber,
                                 std::int64_t at);
  // Paid credit for the card in front of the kiosk that this kiosk did not sell (or whose
  // transaction was lost): at step Paid. Returns the existing transaction when the order is
  // already journaled.
  Journaled<TxRecord> adoptPaid(const std::string& orderId, const std::string& cardNumber,
                                const std::string& meterNumber, std::int64_t credit,
                                std::int64_t at);
  // Records one step (or several that happen together: the token fetched and the APDU about to
  // go out) in one commit, with its outbox event. `detail` is a JSON object for the event.
  // Closed when the transaction has ended.
  Journaled<TxRecord> record(std::int64_t txId, const std::vector<Step>& steps,
                             const TxUpdate& update, const std::string& detail, std::int64_t at);
  Journaled<TxRecord> record(std::int64_t txId, Step step, const TxUpdate& update,
                             const std::string& detail, std::int64_t at) {
    return record(txId, std::vector<Step>{step}, update, detail, at);
  }
  // Ends a transaction (Confirmed for Delivered, Closed otherwise). Ending one that has ended
  // already changes nothing and returns it as it is.
  Journaled<TxRecord> finish(std::int64_t txId, Outcome outcome, const std::string& detail,
                             std::int64_t at);

  Journaled<TxRecord> transaction(std::int64_t txId);
  Journaled<std::optional<TxRecord>> byOrder(const std::string& orderId);
  Journaled<std::vector<TxRecord>> unfinished();
  Journaled<std::vector<TxRecord>> all();
  // The steps recorded for a transaction, oldest first.
  Journaled<std::vector<std::string>> steps(std::int64_t txId);

  // ---- outbox
  // An event that is not a transaction step (card read, error, staff action).
  Journaled<std::int64_t> event(const std::string& type, const std::string& data, std::int64_t at);
  // Events after the acknowledged sequence, oldest first.
  Journaled<std::vector<OutboxEvent>> pendingEvents(std::size_t limit);
  // The cloud has every event up to `seq`.
  Journaled<void> acknowledge(std::int64_t seq);
  Journaled<std::int64_t> acknowledged();
  Journaled<std::int64_t> lastSequence();

  // ---- meter readings (a card's RETURN file), kept until the cloud has them
  // Keeps what a card's meter wrote (the same bytes from the same card again: kept once).
  Journaled<void> keepReading(const std::string& cardNumber, const std::string& returnHex,
                              std::int64_t at);
  // The readings the cloud does not have yet, oldest first.
  Journaled<std::vector<PendingReading>> pendingReadings(std::size_t limit);
  // The cloud took it (or refused it for good): it is not sent again.
  Journaled<void> readingDone(std::int64_t id);

  // ---- kiosk config, kept for offline use
  Journaled<void> saveConfig(const std::string& body, const std::string& etag);
  // (body, etag), or nullopt before the first download.
  Journaled<std::optional<std::pair<std::string, std::string>>> loadConfig();

  const std::filesystem::path& file() const { return m_file; }
  // The durability in force: SQLite's journal_mode and synchronous settings ("wal", 2 = FULL).
  std::pair<std::string, std::int64_t> durability();

 private:
  Journal(sqlite3* db, std::filesystem::path file, Options options);
  struct Statement;
  using Statements = std::vector<std::pair<std::string, std::unique_ptr<Statement>>>;
  static Statement& prepareOn(sqlite3* db, Statements& cache, std::string_view sql);
  Statement& prepare(std::string_view sql);      // the writing connection (m_mutex held)
  Statement& prepareRead(std::string_view sql);  // the reading connection (m_readMutex held)
  // BEGIN IMMEDIATE, COMMIT and ROLLBACK, prepared once.
  std::array<sqlite3_stmt*, 3> transactionStatements();
  Journaled<void> exec(std::string_view sql);
  Journaled<TxRecord> load(std::int64_t txId, bool onReader = false);
  Journaled<std::int64_t> appendEvent(const std::string& type, const std::string& data,
                                      std::int64_t at);
  Journaled<void> setMeta(const std::string& key, const std::string& value);
  Journaled<std::optional<std::string>> getMeta(const std::string& key, bool onReader = false);
  void crashIfAsked(Step step) const;

  sqlite3* m_db;
  std::filesystem::path m_file;
  Options m_options;
  std::recursive_mutex m_mutex;
  Statements m_statements;
  // Reads go through a connection of their own: in WAL mode they see every committed step
  // without waiting for a commit in progress (a step's fsync takes milliseconds, and the
  // write of a paid token must not wait behind its own Paid commit to look the order up).
  sqlite3* m_reader = nullptr;
  std::mutex m_readMutex;
  Statements m_readStatements;
};

}  // namespace kiosk::payments
