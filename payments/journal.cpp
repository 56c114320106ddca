#include "payments/journal.hpp"

#include <nlohmann/json.hpp>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <utility>

namespace kiosk::payments {

namespace {

using nlohmann::json;

constexpr std::array<std::pair<Step, std::string_view>, 11> kSteps{{
    {Step::OrderRequested, "order_requested"},
    {Step::OrderCreated, "order_created"},
    {Step::QrShown, "qr_shown"},
    {Step::CancelRequested, "cancel_requested"},
    {Step::Paid, "paid"},
    {Step::ScriptFetched, "script_fetched"},
    {Step::ApduSent, "apdu_sent"},
    {Step::CardPulled, "card_pulled"},
    {Step::ReadBack, "read_back"},
    {Step::Confirmed, "confirmed"},
    {Step::Closed, "closed"},
}};

constexpr std::array<std::pair<Outcome, std::string_view>, 9> kOutcomes{{
    {Outcome::None, ""},
    {Outcome::Delivered, "delivered"},
    {Outcome::Declined, "declined"},
    {Outcome::Expired, "expired"},
    {Outcome::Cancelled, "cancelled"},
    {Outcome::Rejected, "rejected"},
    {Outcome::DeliveredElsewhere, "delivered_elsewhere"},
    {Outcome::Refunded, "refunded"},
    {Outcome::FeesOnly, "fees_only"},
}};

Outcome outcomeFromString(std::string_view text) {
  for (const auto& [value, name] : kOutcomes) {
    if (name == text) return value;
  }
  return Outcome::None;
}

JournalError fromSqlite(int rc) {
  switch (rc & 0xFF) {
    case SQLITE_FULL: return JournalError::DiskFull;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return JournalError::Corrupt;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return JournalError::Busy;
    default: return JournalError::Io;
  }
}

constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS transactions (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  card_number TEXT NOT NULL,
  meter_number TEXT NOT NULL DEFAULT '',
  idempotency_key TEXT UNIQUE,
  amount INTEGER NOT NULL DEFAULT 0,
  challenge TEXT NOT NULL DEFAULT '',
  order_id TEXT UNIQUE,
  credit INTEGER NOT NULL DEFAULT 0,
  fees INTEGER NOT NULL DEFAULT 0,
  qr_url TEXT NOT NULL DEFAULT '',
  expires_at INTEGER NOT NULL DEFAULT 0,
  token_hex TEXT NOT NULL DEFAULT '',
  token_seq INTEGER NOT NULL DEFAULT 0,
  delivery_nonce TEXT NOT NULL DEFAULT '',
  delivery_proof TEXT NOT NULL DEFAULT '',
  step TEXT NOT NULL,
  outcome TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS transactions_open ON transactions (outcome) WHERE outcome = '';
CREATE TABLE IF NOT EXISTS steps (
  id INTEGER PRIMARY KEY,
  tx INTEGER NOT NULL REFERENCES transactions (id),
  step TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  at INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS readings (
  id INTEGER PRIMARY KEY,
  card_number TEXT NOT NULL,
  return_hex TEXT NOT NULL,
  read_at INTEGER NOT NULL,
  UNIQUE (card_number, return_hex)
);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)SQL";

constexpr const char* kTxColumns =
    "id, kind, card_number, meter_number, COALESCE(idempotency_key, ''), amount, challenge, "
    "COALESCE(order_id, ''), credit, fees, qr_url, expires_at, token_hex, token_seq, step, "
    "outcome, created_at, updated_at, delivery_nonce, delivery_proof";

// Columns added since the first journal layout, for a journal made before them.
constexpr std::array<std::pair<const char*, const char*>, 2> kAddedColumns{{
    {"delivery_nonce", "ALTER TABLE transactions ADD COLUMN delivery_nonce TEXT NOT NULL DEFAULT ''"},
    {"delivery_proof", "ALTER TABLE transactions ADD COLUMN delivery_proof TEXT NOT NULL DEFAULT ''"},
}};

}  // namespace

std::string_view describe(JournalError error) {
  switch (error) {
    case JournalError::DiskFull: return "journal disk is full";
    case JournalError::Io: return "journal cannot be written";
    case JournalError::Corrupt: return "journal is damaged";
    case JournalError::Busy: return "journal is in use by another process";
    case JournalError::NotFound: return "no such transaction";
    case JournalError::Closed: return "transaction has ended";
  }
  return "journal error";
}

std::string_view toString(Step step) {
  for (const auto& [value, name] : kSteps) {
    if (value == step) return name;
  }
  return "closed";
}

std::optional<Step> stepFromString(std::string_view text) {
  for (const auto& [value, name] : kSteps) {
    if (name == text) return value;
  }
  return std::nullopt;
}

std::string_view toString(Outcome outcome) {
  for (const auto& [value, name] : kOutcomes) {
    if (value == outcome) return name;
  }
  return "";
}

// A prepared statement kept for the journal's lifetime; reset before each use.
struct Journal::Statement {
  sqlite3_stmt* stmt = nullptr;
  ~Statement() { sqlite3_finalize(stmt); }

  Statement& reset() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return *this;
  }
  Statement& bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt, index, value);
    return *this;
  }
  Statement& bind(int index, const std::string& value) {
    sqlite3_bind_text(stmt, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bindNull(int index) {
    sqlite3_bind_null(stmt, index);
    return *this;
  }
  int step() { return sqlite3_step(stmt); }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt, column); }
  std::string text(int column) const {
    const auto* data = sqlite3_column_text(stmt, column);
    return data == nullptr ? std::string{}
                           : std::string(reinterpret_cast<const char*>(data),
                                         static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)));
  }
};

namespace {

// Commits on success, rolls back otherwise; the journal's mutex is held by the caller. BEGIN,
// COMMIT and ROLLBACK are the journal's prepared statements, not parsed again at every step.
class Transaction {
 public:
  // BEGIN IMMEDIATE, COMMIT, ROLLBACK.
  using Statements = std::array<sqlite3_stmt*, 3>;
  explicit Transaction(Statements statements) : m_statements(statements) {
    m_rc = run(m_statements[0]);
  }
  ~Transaction() {
    if (m_open) (void)run(m_statements[2]);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  int begun() {
    m_open = m_rc == SQLITE_OK;
    return m_rc;
  }
  int commit() {
    const int rc = run(m_statements[1]);
    if (rc == SQLITE_OK) m_open = false;
    return rc;
  }

 private:
  static int run(sqlite3_stmt* statement) {
    const int rc = sqlite3_step(statement);
    sqlite3_reset(statement);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  Statements m_statements;
  int m_rc;
  bool m_open = false;
};

TxRecord readTx(const auto& s) {
  TxRecord tx;
  tx.id = s.integer(0);
  tx.kind = s.text(1) == "pending" ? TxKind::Pending : TxKind::TopUp;
  tx.cardNumber = s.text(2);
  tx.meterNumber = s.text(3);
  tx.idempotencyKey = s.text(4);
  tx.amount = s.integer(5);
  tx.challenge = s.text(6);
  tx.orderId = s.text(7);
  tx.credit = s.integer(8);
  tx.fees = s.integer(9);
  tx.qrUrl = s.text(10);
  tx.expiresAt = s.integer(11);
  tx.tokenHex = s.text(12);
  tx.tokenSeq = s.integer(13);
  tx.step = stepFromString(s.text(14)).value_or(Step::Closed);
  tx.outcome = outcomeFromString(s.text(15));
  tx.createdAt = s.integer(16);
  tx.updatedAt = s.integer(17);
  tx.deliveryNonce = s.text(18);
  tx.deliveryProof = s.text(19);
  return tx;
}

std::string eventData(const TxRecord& tx, const std::string& detail) {
  json data{{"tx", tx.id},
            {"kind", tx.kind == TxKind::Pending ? "pending" : "topup"},
            {"card_number", tx.cardNumber},
            {"step", toString(tx.step)}};
  if (!tx.orderId.empty()) data["order_id"] = tx.orderId;
  if (!tx.meterNumber.empty()) data["meter_number"] = tx.meterNumber;
  if (tx.amount != 0) data["amount"] = tx.amount;
  if (tx.credit != 0) data["credit"] = tx.credit;
  if (tx.fees != 0) data["fees"] = tx.fees;
  if (tx.tokenSeq != 0) data["token_sequence"] = tx.tokenSeq;
  if (tx.outcome != Outcome::None) data["outcome"] = toString(tx.outcome);
  auto extra = json::parse(detail, nullptr, false);
  if (extra.is_object() && !extra.empty()) data["detail"] = std::move(extra);
  return data.dump();
}

}  // namespace

Journaled<std::unique_ptr<Journal>> Journal::open(const std::filesystem::path& file,
                                                  Options options) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    spdlog::error("journal: cannot open {}: {}", file.string(),
                  db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return fail(fromSqlite(rc));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<Journal> journal(new Journal(db, file, std::move(options)));
  // WAL: a commit is one append and one fsync; synchronous=FULL: that fsync happens at every
  // commit, so a step reported as recorded survives a power cut.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                             "PRAGMA foreign_keys=ON"}) {
    if (auto done = journal->exec(pragma); !done) return fail(done.error());
  }
  if (auto done = journal->exec(kSchema); !done) return fail(done.error());
  for (const auto& [column, add] : kAddedColumns) {
    auto& has = journal->prepare(std::string("SELECT COUNT(*) FROM pragma_table_info('transactions') "
                                             "WHERE name = '") + column + "'");
    has.reset();
    const bool present = has.step() == SQLITE_ROW && has.integer(0) == 1;
    has.reset();
    if (!present) {
      if (auto done = journal->exec(add); !done) return fail(done.error());
    }
  }
  if (journal->m_options.maxPageCount > 0) {
    const std::string cap =
        "PRAGMA max_page_count=" + std::to_string(journal->m_options.maxPageCount);
    if (auto done = journal->exec(cap); !done) return fail(done.error());
  }
  auto& check = journal->prepare("PRAGMA journal_mode");
  check.reset();
  const bool wal = check.step() == SQLITE_ROW && check.text(0) == "wal";
  check.reset();
  if (!wal) {
    spdlog::error("journal: {} cannot use WAL mode", file.string());
    return fail(JournalError::Io);
  }
  const int readerRc = sqlite3_open_v2(file.c_str(), &journal->m_reader,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (readerRc != SQLITE_OK) {
    spdlog::error("journal: cannot open {} for reading: {}", file.string(),
                  journal->m_reader != nullptr ? sqlite3_errmsg(journal->m_reader)
                                               : sqlite3_errstr(readerRc));
    return fail(fromSqlite(readerRc));
  }
  sqlite3_extended_result_codes(journal->m_reader, 1);
  sqlite3_busy_timeout(journal->m_reader, 5000);
  if (const int queryOnly = sqlite3_exec(journal->m_reader, "PRAGMA query_only=1", nullptr, nullptr, nullptr);
      queryOnly != SQLITE_OK) {
    return fail(fromSqlite(queryOnly));
  }
  return journal;
}

Journal::Journal(sqlite3* db, std::filesystem::path file, Options options)
    : m_db(db), m_file(std::move(file)), m_options(std::move(options)) {}

Journal::~Journal() {
  m_readStatements.clear();
  sqlite3_close(m_reader);
  m_statements.clear();
  sqlite3_close(m_db);
}

Journal::Statement& Journal::prepareOn(sqlite3* db, Statements& cache, std::string_view sql) {
  for (auto& [text, statement] : cache) {
    if (text == sql) return statement->reset();
  }
  auto statement = std::make_unique<Statement>();
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &statement->stmt, nullptr);
  if (rc != SQLITE_OK) {
    // The journal's own SQL: a failure here is a programming error, not a runtime condition.
    throw std::logic_error("journal: bad SQL: " + std::string(sqlite3_errmsg(db)));
  }
  cache.emplace_back(std::string(sql), std::move(statement));
  return *cache.back().second;
}

Journal::Statement& Journal::prepare(std::string_view sql) {
  return prepareOn(m_db, m_statements, sql);
}

Journal::Statement& Journal::prepareRead(std::string_view sql) {
  return prepareOn(m_reader, m_readStatements, sql);
}

std::array<sqlite3_stmt*, 3> Journal::transactionStatements() {
  sqlite3_stmt* begin = prepare("BEGIN IMMEDIATE").stmt;
  sqlite3_stmt* commit = prepare("COMMIT").stmt;
  sqlite3_stmt* rollback = prepare("ROLLBACK").stmt;
  return {begin, commit, rollback};
}

Journaled<void> Journal::exec(std::string_view sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(m_db, std::string(sql).c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    spdlog::error("journal: {}", message != nullptr ? message : sqlite3_errstr(rc));
    sqlite3_free(message);
    return fail(fromSqlite(rc));
  }
  return {};
}

void Journal::crashIfAsked(Step step) const {
  if (!m_options.crashAfter.empty() && m_options.crashAfter == toString(step)) {
    spdlog::warn("journal: crashing after {} as asked", toString(step));
    ::kill(::getpid(), SIGKILL);
  }
}

Journaled<TxRecord> Journal::load(std::int64_t txId, bool onReader) {
  const std::string sql = std::string("SELECT ") + kTxColumns + " FROM transactions WHERE id = ?1";
  auto& s = onReader ? prepareRead(sql) : prepare(sql);
  s.bind(1, txId);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return fail(JournalError::NotFound);
  if (rc != SQLITE_ROW) return fail(fromSqlite(rc));
  TxRecord tx = readTx(s);
  s.reset();  // ends the statement's read before the next write
  return tx;
}

Journaled<std::int64_t> Journal::appendEvent(const std::string& type, const std::string& data,
                                             std::int64_t at) {
  auto& s = prepare("INSERT INTO outbox (type, at, data) VALUES (?1, ?2, ?3)");
  s.bind(1, type).bind(2, at).bind(3, data);
  const int rc = s.step();
  if (rc != SQLITE_DONE) return fail(fromSqlite(rc));
  return sqlite3_last_insert_rowid(m_db);
}

Journaled<TxRecord> Journal::beginTopUp(const OrderRequest& request,
                                        const std::string& meterNumber, std::int64_t at) {
  std::lock_guard lock(m_mutex);
  Transaction transaction(transactionStatements());
  if (const int rc = transaction.begun(); rc != SQLITE_OK) return fail(fromSqlite(rc));
  auto& insert = prepare(
      "INSERT INTO transactions (kind, card_number, meter_number, idempotency_key, amount, "
      "challenge, step, created_at, updated_at) VALUES ('topup', ?1, ?2, ?3, ?4, ?5, "
      "'order_requested', ?6, ?6)");
  insert.bind(1, request.cardNumber).bind(2, meterNumber).bind(3, request.idempotencyKey);
  insert.bind(4, request.amount).bind(5, request.challenge).bind(6, at);
  if (const int rc = insert.step(); rc != SQLITE_DONE) return fail(fromSqlite(rc));
  const std::int64_t id = sqlite3_last_insert_rowid(m_db);
  auto& step = prepare("INSERT INTO steps (tx, step, at) VALUES (?1, ?2, ?3)");
  step.bind(1, id).bind(2, std::string(toString(Step::OrderRequested))).bind(3, at);
  if (const int rc = step.step(); rc != SQLITE_DONE) return fail(fromSqlite(rc));
  auto tx = load(id);
  if (!tx) return tx;
  if (auto seq = appendEvent("tx.order_requested", eventData(*tx, "{}"), at); !seq) {
    return fail(seq.error());
  }
  if (const int rc = transaction.commit(); rc != SQLITE_OK) return fail(fromSqlite(rc));
  crashIfAsked(Step::OrderRequested);
  return tx;
}

Journaled<TxRecord> Journal::adoptPaid(const std::string& orderId, const std::string& cardNumber,
                                       const std::string& meterNumber, std::int64_t credit,
                                       std::int64_t at) {
  std::lock_guard lock(m_mutex);
  if (auto existing = byOrder(orderId); !existing) {
    return fail(existing.error());
  } else if (existing->has_value()) {
    return **existing;
  }
  Transaction transaction(transactionStatements());
  if (const int rc = transaction.begun(); rc != SQLITE_OK) return fail(fromSqlite(rc));
  auto& insert = prepare(
      "INSERT INTO transactions (kind, card_number, meter_number, order_id, credit, step, "
      "created_at, updated_at) VALUES ('pending', ?1, ?2, ?3, ?4, 'paid', ?5, ?5)");
  insert.bind(1, cardNumber).bind(2, meterNumber).bind(3, orderId).bind(4, credit).bind(5, at);
  if (const int rc = insert.step(); rc != SQLITE_DONE) return fail(fromSqlite(rc));
  const std::int64_t id = sqlite3_last_insert_rowid(m_db);
  auto& step = prepare("INSERT INTO steps (tx, step, at) VALUES (?1, ?2, ?3)");
  step.bind(1, id).bind(2, std::string(toString(Step::Paid))).bind(3, at);
  if (const int rc = step.step(); rc != SQLITE_DONE) return fail(fromSqlite(rc));
  auto tx = load(id);
  if (!tx) return tx;
  if (auto seq = appendEvent("tx.paid", eventData(*tx, R"({"adopted":true})"), at); !seq) {
    return fail(seq.error());
  }
  if (const int rc = transaction.commit(); rc != SQLITE_OK) return fail(fromSqlite(rc));
  crashIfAsked(Step::Paid);
  return tx;
}

Journaled<TxRecord> Journal::record(std::int64_t txId, const std::vector<Step>& steps,
                                    const TxUpdate& update, const std::string& detail,
                                    std::int64_t at) {
  std::lock_guard lock(m_mutex);
  Transaction transaction(transactionStatements());
  if (const int rc = transaction.begun(); rc != SQLITE_OK) return fail(fromSqlite(rc));
  const Step last = steps.empty() ? Step::Closed : steps.back();
  // Only the columns this step sets: a column left out keeps its index pages untouched (the
  // order id's unique index would otherwise be rewritten at every step).
  std::string sql = "UPDATE transactions SET step = ?2, updated_at = ?3";
  if (update.orderId) sql += ", order_id = ?4";
  if (update.credit) sql += ", credit = ?5";
  if (update.fees) sql += ", fees = ?6";
  if (update.qrUrl) sql += ", qr_url = ?7";
  if (update.expiresAt) sql += ", expires_at = ?8";
  if (update.tokenHex) sql += ", token_hex = ?9";
  if (update.tokenSeq) sql += ", token_seq = ?10";
  if (update.meterNumber) sql += ", meter_number = ?11";
  if (update.deliveryNonce) sql += ", delivery_nonce = ?12";
  if (update.deliveryProof) sql += ", delivery_proof = ?13";
  sql += " WHERE id = ?1 AND outcome = ''";
  auto& set = prepare(sql);
  set.bind(1, txId).bind(2, std::string(toString(last))).bind(3, at);
  auto bindText = [&set](int index, const std::optional<std::string>& value) {
    if (value) set.bind(index, *value);
  };
  auto bindInt = [&set](int index, const std::optional<std::int64_t>& value) {
    if (value) set.bind(index, *value);
  };
  bindText(4, update.orderId);
  bindInt(5, update.credit);
  bindInt(6, update.fees);
  bindText(7, update.qrUrl);
  bindInt(8, update.expiresAt);
  bindText(9, update.tokenHex);
  bindInt(10, update.tokenSeq);
  bindText(11, update.meterNumber);
  bindText(12, update.deliveryNonce);
  bindText(13, update.deliveryProof);
  if (const int rc = set.step(); rc != SQLITE_DONE) return fail(fromSqlite(rc));
  if (sqlite3_changes(m_db) != 1) {
    auto existing = load(txId);
    return fail(existing ? JournalError::Closed : existing.error());
  }
  auto tx = load(txId);
  if (!tx) return tx;
  for (const Step step : steps) {
    auto& row = prepare("INSERT INTO steps (tx, step, at) VALUES (?1, ?2, ?3)");
    row.bind(1, txId).bind(2, std::string(toString(step))).bind(3, at);
    if (const int rc = row.step(); rc != SQLITE_DONE) return fail(fromSqlite(rc));
    TxRecord view = *tx;
    view.step = step;
    if (auto seq = appendEvent("tx." + std::string(toString(step)), eventData(view, detail), at);
        !seq) {
      return fail(seq.error());
    }
  }
  if (const int rc = transaction.commit(); rc != SQLITE_OK) return fail(fromSqlite(rc));
  for (const Step step : steps) crashIfAsked(step);
  return tx;
}

Journaled<TxRecord> Journal::finish(std::int64_t txId, Outcome outcome, const std::string& detail,
                                    std::int64_t at) {
  std::lock_guard lock(m_mutex);
  Transaction transaction(transactionStatements());
  if (const int rc = transaction.begun(); rc != SQLITE_OK) return fail(fromSqlite(rc));
  const Step step = outcome == Outcome::Delivered ? Step::Confirmed : Step::Closed;
  auto& set = prepare(
      "UPDATE transactions SET step = ?2, outcome = ?3, updated_at = ?4 "
      "WHERE id = ?1 AND outcome = ''");
  set.bind(1, txId).bind(2, std::string(toString(step)))
      .bind(3, std::string(toString(outcome))).bind(4, at);
  if (const int rc = set.step(); rc != SQLITE_DONE) return fail(fromSqlite(rc));
  if (sqlite3_changes(m_db) != 1) return load(txId);  // ended already (or NotFound)
  auto& row = prepare("INSERT INTO steps (tx, step, at) VALUES (?1, ?2, ?3)");
  row.bind(1, txId).bind(2, std::string(toString(step))).bind(3, at);
  if (const int rc = row.step(); rc != SQLITE_DONE) return fail(fromSqlite(rc));
  auto tx = load(txId);
  if (!tx) return tx;
  if (auto seq = appendEvent("tx." + std::string(toString(step)), eventData(*tx, detail), at); !seq) {
    return fail(seq.error());
  }
  if (const int rc = transaction.commit(); rc != SQLITE_OK) return fail(fromSqlite(rc));
  crashIfAsked(step);
  return tx;
}

Journaled<TxRecord> Journal::transaction(std::int64_t txId) {
  std::lock_guard lock(m_readMutex);
  return load(txId, true);
}

Journaled<std::optional<TxRecord>> Journal::byOrder(const std::string& orderId) {
  std::lock_guard lock(m_readMutex);
  auto& s = prepareRead(std::string("SELECT ") + kTxColumns + " FROM transactions WHERE order_id = ?1");
  s.bind(1, orderId);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<TxRecord>{};
  if (rc != SQLITE_ROW) return fail(fromSqlite(rc));
  TxRecord tx = readTx(s);
  s.reset();
  return std::optional<TxRecord>{std::move(tx)};
}

Journaled<std::vector<TxRecord>> Journal::unfinished() {
  std::lock_guard lock(m_readMutex);
  auto& s = prepareRead(std::string("SELECT ") + kTxColumns +
                    " FROM transactions WHERE outcome = '' ORDER BY id");
  std::vector<TxRecord> out;
  for (int rc = s.step();; rc = s.step()) {
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return fail(fromSqlite(rc));
    out.push_back(readTx(s));
  }
  return out;
}

Journaled<std::vector<TxRecord>> Journal::all() {
  std::lock_guard lock(m_readMutex);
  auto& s = prepareRead(std::string("SELECT ") + kTxColumns + " FROM transactions ORDER BY id");
  std::vector<TxRecord> out;
  for (int rc = s.step();; rc = s.step()) {
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return fail(fromSqlite(rc));
    out.push_back(readTx(s));
  }
  return out;
}

Journaled<std::vector<std::string>> Journal::steps(std::int64_t txId) {
  std::lock_guard lock(m_readMutex);
  auto& s = prepareRead("SELECT step FROM steps WHERE tx = ?1 ORDER BY id");
  s.bind(1, txId);
  std::vector<std::string> out;
  for (int rc = s.step();; rc = s.step()) {
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return fail(fromSqlite(rc));
    out.push_back(s.text(0));
  }
  return out;
}

Journaled<std::int64_t> Journal::event(const std::string& type, const std::string& data,
                                       std::int64_t at) {
  std::lock_guard lock(m_mutex);
  // One statement is its own transaction: one commit, one fsync.
  return appendEvent(type, data, at);
}

Journaled<std::vector<OutboxEvent>> Journal::pendingEvents(std::size_t limit) {
  std::lock_guard lock(m_readMutex);
  auto acked = getMeta("acked_seq", true);
  if (!acked) return fail(acked.error());
  const std::int64_t after = acked->has_value() ? std::stoll(**acked) : 0;
  auto& s = prepareRead("SELECT seq, type, at, data FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  s.bind(1, after).bind(2, static_cast<std::int64_t>(limit));
  std::vector<OutboxEvent> out;
  for (int rc = s.step();; rc = s.step()) {
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return fail(fromSqlite(rc));
    out.push_back({s.integer(0), s.text(1), s.integer(2), s.text(3)});
  }
  return out;
}

Journaled<void> Journal::keepReading(const std::string& cardNumber, const std::string& returnHex,
                                     std::int64_t at) {
  std::lock_guard lock(m_mutex);
  auto& s = prepare(
      "INSERT INTO readings (card_number, return_hex, read_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (card_number, return_hex) DO NOTHING");
  s.bind(1, cardNumber).bind(2, returnHex).bind(3, at);
  if (const int rc = s.step(); rc != SQLITE_DONE) return fail(fromSqlite(rc));
  return {};
}

Journaled<std::vector<PendingReading>> Journal::pendingReadings(std::size_t limit) {
  std::lock_guard lock(m_readMutex);
  auto& s = prepareRead("SELECT id, card_number, return_hex, read_at FROM readings ORDER BY id LIMIT ?1");
  s.bind(1, static_cast<std::int64_t>(limit));
  std::vector<PendingReading> out;
  for (int rc = s.step();; rc = s.step()) {
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return fail(fromSqlite(rc));
    out.push_back({s.integer(0), s.text(1), s.text(2), s.integer(3)});
  }
  return out;
}

Journaled<void> Journal::readingDone(std::int64_t id) {
  std::lock_guard lock(m_mutex);
  auto& s = prepare("DELETE FROM readings WHERE id = ?1");
  s.bind(1, id);
  if (const int rc = s.step(); rc != SQLITE_DONE) return fail(fromSqlite(rc));
  return {};
}

Journaled<void> Journal::acknowledge(std::int64_t seq) {
  std::lock_guard lock(m_mutex);
  auto acked = getMeta("acked_seq");
  if (!acked) return fail(acked.error());
  // Acknowledgements only move forward: a late answer to an older batch changes nothing.
  if (acked->has_value() && std::stoll(**acked) >= seq) return {};
  return setMeta("acked_seq", std::to_string(seq));
}

Journaled<std::int64_t> Journal::acknowledged() {
  std::lock_guard lock(m_readMutex);
  auto acked = getMeta("acked_seq", true);
  if (!acked) return fail(acked.error());
  return acked->has_value() ? std::stoll(**acked) : std::int64_t{0};
}

Journaled<std::int64_t> Journal::lastSequence() {
  std::lock_guard lock(m_readMutex);
  auto& s = prepareRead("SELECT COALESCE(MAX(seq), 0) FROM outbox");
  const int rc = s.step();
  if (rc != SQLITE_ROW) return fail(fromSqlite(rc));
  const std::int64_t last = s.integer(0);
  s.reset();
  return last;
}

std::pair<std::string, std::int64_t> Journal::durability() {
  std::lock_guard lock(m_mutex);
  auto& mode = prepare("PRAGMA journal_mode");
  std::string journalMode = mode.step() == SQLITE_ROW ? mode.text(0) : std::string{};
  mode.reset();
  auto& sync = prepare("PRAGMA synchronous");
  const std::int64_t synchronous = sync.step() == SQLITE_ROW ? sync.integer(0) : -1;
  sync.reset();
  return {journalMode, synchronous};
}

Journaled<void> Journal::saveConfig(const std::string& body, const std::string& etag) {
  std::lock_guard lock(m_mutex);
  Transaction transaction(transactionStatements());
  if (const int rc = transaction.begun(); rc != SQLITE_OK) return fail(fromSqlite(rc));
  if (auto done = setMeta("config", body); !done) return done;
  if (auto done = setMeta("config_etag", etag); !done) return done;
  if (const int rc = transaction.commit(); rc != SQLITE_OK) return fail(fromSqlite(rc));
  return {};
}

Journaled<std::optional<std::pair<std::string, std::string>>> Journal::loadConfig() {
  std::lock_guard lock(m_readMutex);
  // Both in one read transaction, so that the ETag belongs to the body.
  if (const int rc = sqlite3_exec(m_reader, "BEGIN", nullptr, nullptr, nullptr); rc != SQLITE_OK) {
    return fail(fromSqlite(rc));
  }
  struct End {
    sqlite3* db;
    ~End() { sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); }
  } end{m_reader};
  auto body = getMeta("config", true);
  if (!body) return fail(body.error());
  if (!body->has_value()) return std::optional<std::pair<std::string, std::string>>{};
  auto etag = getMeta("config_etag", true);
  if (!etag) return fail(etag.error());
  return std::optional<std::pair<std::string, std::string>>{
      std::make_pair(std::move(**body), etag->value_or(""))};
}

Journaled<void> Journal::setMeta(const std::string& key, const std::string& value) {
  auto& s = prepare(
      "INSERT INTO meta (key, value) VALUES (?1, ?2) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  s.bind(1, key).bind(2, value);
  if (const int rc = s.step(); rc != SQLITE_DONE) return fail(fromSqlite(rc));
  return {};
}

Journaled<std::optional<std::string>> Journal::getMeta(const std::string& key, bool onReader) {
  constexpr std::string_view kSql = "SELECT value FROM meta WHERE key = ?1";
  auto& s = onReader ? prepareRead(kSql) : prepare(kSql);
  s.bind(1, key);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<std::string>{};
  if (rc != SQLITE_ROW) return fail(fromSqlite(rc));
  std::string value = s.text(0);
  s.reset();
  return std::optional<std::string>{std::move(value)};
}

}  // namespace kiosk::payments
