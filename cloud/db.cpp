#include "cloud/db.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/select.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace kiosk::cloud {

std::int64_t SqlRow::integer(std::size_t i) const {
  const auto& column = columns.at(i);
  if (!column) return 0;
  std::int64_t value = 0;
  std::from_chars(column->data(), column->data() + column->size(), value);
  return value;
}

std::optional<std::int64_t> SqlRow::optInteger(std::size_t i) const {
  if (isNull(i)) return std::nullopt;
  return integer(i);
}

Failure toFailure(const DbFailure& failure) {
  switch (failure.kind) {
    case DbErrorKind::Unique: return {CloudError::Conflict, failure.message};
    case DbErrorKind::Retry: return {CloudError::Unavailable, "retry"};
    case DbErrorKind::Unavailable: return {CloudError::Unavailable, failure.message};
    case DbErrorKind::Other: break;
  }
  return {CloudError::Internal, failure.message};
}

Result<void, DbFailure> Database::inTransaction(const std::function<bool(SqlConnection&)>& work) {
  auto lease = acquire();
  if (auto started = lease->begin(); !started) return fail(started.error());
  if (!work(*lease)) {
    lease->rollback();
    return {};
  }
  if (auto committed = lease->commit(); !committed) {
    lease->rollback();
    return fail(committed.error());
  }
  return {};
}

Result<SqlResult, DbFailure> Database::execWrite(std::string_view sql,
                                                 const std::vector<SqlValue>& params) {
  auto lease = acquire();
  return lease->exec(sql, params);
}

namespace {

// ---------------------------------------------------------------------------------------
// SQLite: one writing connection per process and a few reading ones (see SqliteDatabase);
// WAL so that readers never wait for the writer, and a busy timeout for writers in other
// processes (operators' tools).

class SqliteConnection final : public SqlConnection {
 public:
  // A reader only reads (query_only): every write goes through the one writer.
  SqliteConnection(const std::string& path, bool reader) {
    if (sqlite3_open_v2(path.c_str(), &m_db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string message = m_db ? sqlite3_errmsg(m_db) : "out of memory";
      sqlite3_close(m_db);
      throw std::runtime_error("cannot open SQLite database " + path + ": " + message);
    }
    sqlite3_extended_result_codes(m_db, 1);
    sqlite3_busy_timeout(m_db, 5000);
    // synchronous=FULL: a commit is on the disk before anyone hears of it.
    auto pragmas = execScript(reader ? "PRAGMA query_only=1;"
                                     : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                       "PRAGMA foreign_keys=ON;");
    if (!pragmas) throw std::runtime_error("SQLite setup failed: " + pragmas.error().message);
  }
  ~SqliteConnection() override {
    for (auto& [sql, stmt] : m_statements) sqlite3_finalize(stmt);
    sqlite3_close(m_db);
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  Result<SqlResult, DbFailure> exec(std::string_view sql,
                                    const std::vector<SqlValue>& params) override {
    sqlite3_stmt* stmt = nullptr;
    const std::string key(sql);
    if (auto it = m_statements.find(key); it != m_statements.end()) {
      stmt = it->second;
    } else {
      if (sqlite3_prepare_v2(m_db, key.c_str(), static_cast<int>(key.size()), &stmt, nullptr) !=
          SQLITE_OK) {
        return fail(DbFailure{DbErrorKind::Other, std::string(sqlite3_errmsg(m_db)) + " in " + key});
      }
      m_statements.emplace(key, stmt);
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    for (std::size_t i = 0; i < params.size(); ++i) {
      // Placeholders are written $1, $2... for both dialects; SQLite treats them as named
      // parameters, so look each one up by name.
      const std::string name = "$" + std::to_string(i + 1);
      const int index = sqlite3_bind_parameter_index(stmt, name.c_str());
      if (index == 0) continue;
      const auto& value = params[i];
      if (std::holds_alternative<std::nullptr_t>(value)) {
        sqlite3_bind_null(stmt, index);
      } else if (const auto* number = std::get_if<std::int64_t>(&value)) {
        sqlite3_bind_int64(stmt, index, *number);
      } else {
        const auto& text = std::get<std::string>(value);
        sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()),
                          SQLITE_TRANSIENT);
      }
    }
    SqlResult result;
    const int columns = sqlite3_column_count(stmt);
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        DbFailure failure = mapError(rc);
        sqlite3_reset(stmt);
        return fail(failure);
      }
      SqlRow row;
      row.columns.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          row.columns.emplace_back(std::nullopt);
        } else {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          row.columns.emplace_back(
              std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, c))));
        }
      }
      result.rows.push_back(std::move(row));
    }
    result.affected = sqlite3_changes(m_db);
    sqlite3_reset(stmt);
    return result;
  }

  Result<std::vector<SqlResult>, DbFailure> execAll(
      const std::vector<SqlStatement>& statements) override {
    std::vector<SqlResult> results;
    results.reserve(statements.size());
    for (const auto& statement : statements) {
      auto result = exec(statement.sql, statement.params);
      if (!result) return fail(result.error());
      results.push_back(std::move(result).value());
    }
    return results;
  }

  // In-process: nothing to gain from waiting.
  Result<void, DbFailure> execLater(std::string_view sql, std::vector<SqlValue> params) override {
    auto result = exec(sql, params);
    if (!result) return fail(result.error());
    return {};
  }

  Result<void, DbFailure> execScript(std::string_view sql) override {
    char* error = nullptr;
    const std::string script(sql);
    const int rc = sqlite3_exec(m_db, script.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
      DbFailure failure = mapError(rc);
      if (error != nullptr) {
        failure.message = error;
        sqlite3_free(error);
      }
      return fail(failure);
    }
    return {};
  }

  // False once SQLite has ended the transaction by itself (after an I/O error, a full disk).
  bool inTransaction() const { return sqlite3_get_autocommit(m_db) == 0; }

  // IMMEDIATE: take the write lock up front, so two writers never deadlock on an upgrade.
  Result<void, DbFailure> begin() override { return execScript("BEGIN IMMEDIATE"); }
  Result<void, DbFailure> commit() override { return execScript("COMMIT"); }
  void rollback() override {
    if (sqlite3_get_autocommit(m_db) == 0) (void)execScript("ROLLBACK");
  }

 private:
  DbFailure mapError(int rc) const {
    const int primary = rc & 0xFF;
    DbErrorKind kind = DbErrorKind::Other;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) kind = DbErrorKind::Retry;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
      kind = DbErrorKind::Unique;
    }
    if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) {
      kind = DbErrorKind::Unavailable;
    }
    return {kind, sqlite3_errmsg(m_db)};
  }

  sqlite3* m_db = nullptr;
  std::map<std::string, sqlite3_stmt*, std::less<>> m_statements;
};

// Group commit. SQLite has one writer at a time and, with synchronous=FULL, every COMMIT
// waits for the disk. Transactions therefore run one after another as savepoints inside a
// shared write transaction (a batch); whoever finds nobody queued behind it commits the batch,
// and every member returns only once that COMMIT is durable (or reports its failure). Under
// load one fsync covers many requests; alone, a request commits at once. Reads use their own
// connections and see committed data only.
class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string path, int readers)
      : m_path(std::move(path)),
        m_writer(m_path, false),
        m_separateReaders(m_path != ":memory:"),
        m_maxReaders(static_cast<std::size_t>(std::max(readers, 1))) {}

  Dialect dialect() const override { return Dialect::Sqlite; }

  Lease acquire() override {
    if (!m_separateReaders) {
      // An in-memory database is private to its connection: reads share the writer.
      m_writerMutex.lock();
      return Lease(this, &m_writer);
    }
    std::unique_lock lock(m_readerMutex);
    m_readerFree.wait(lock, [this] {
      return !m_idleReaders.empty() || m_readers.size() < m_maxReaders;
    });
    SqliteConnection* reader = nullptr;
    if (!m_idleReaders.empty()) {
      reader = m_idleReaders.back();
      m_idleReaders.pop_back();
    } else {
      m_readers.push_back(std::make_unique<SqliteConnection>(m_path, true));
      reader = m_readers.back().get();
    }
    lock.unlock();
    // One snapshot for the whole lease: a report's several queries agree with each other.
    (void)reader->exec("BEGIN", {});
    return Lease(this, reader);
  }

  Result<void, DbFailure> inTransaction(const std::function<bool(SqlConnection&)>& work) override {
    std::unique_lock lock = lockWriter();
    if (!m_writer.inTransaction()) {
      if (auto begun = m_writer.execScript("BEGIN IMMEDIATE"); !begun) return fail(begun.error());
      m_batch = std::make_shared<Batch>();
    }
    if (auto saved = m_writer.exec("SAVEPOINT request", {}); !saved) {
      endBatch(lock, saved.error());
      return fail(saved.error());
    }
    m_notes.clear();
    const bool keep = work(m_writer);
    if (!m_writer.inTransaction()) {
      // SQLite rolled the whole batch back after an error: nothing of it was kept.
      DbFailure lost{DbErrorKind::Unavailable, "database write failed; the transaction was lost"};
      m_batch->failure = lost;
      finishBatch(lock);
      return keep ? fail(lost) : Result<void, DbFailure>{};
    }
    if (!keep) {
      (void)m_writer.exec("ROLLBACK TO request", {});
      (void)m_writer.exec("RELEASE request", {});
      m_notes.clear();
      if (m_waiting == 0 || !m_separateReaders) {
        if (m_batch->members > 0) {
          commitBatch(lock);  // the others in the batch are waiting for it
        } else {
          (void)m_writer.execScript("ROLLBACK");  // an empty batch: give the lock back
          m_batch.reset();
        }
      }
      return {};
    }
    if (auto released = m_writer.exec("RELEASE request", {}); !released) {
      endBatch(lock, released.error());
      return fail(released.error());
    }
    auto batch = m_batch;
    ++batch->members;
    batch->notes.insert(batch->notes.end(), m_notes.begin(), m_notes.end());
    m_notes.clear();
    if (m_waiting == 0 || batch->members >= kMaxBatch || !m_separateReaders) {
      commitBatch(lock);
    } else {
      // The next one in the queue carries the batch on; the last one commits it.
      lock.unlock();
      std::unique_lock wait(m_doneMutex);
      m_done.wait(wait, [&] { return batch->done; });
    }
    if (batch->failure) return fail(*batch->failure);
    return {};
  }

  Result<SqlResult, DbFailure> execWrite(std::string_view sql,
                                         const std::vector<SqlValue>& params) override {
    std::optional<Result<SqlResult, DbFailure>> result;
    auto done = inTransaction([&](SqlConnection& conn) {
      result.emplace(conn.exec(sql, params));
      return result->has_value();
    });
    if (!done) return fail(done.error());
    return std::move(*result);
  }

  Result<void, DbFailure> notify(SqlConnection& /*conn*/, std::string_view channel,
                                 std::string_view payload) override {
    // Heard once the batch holding this change is committed.
    m_notes.emplace_back(std::string(channel), std::string(payload));
    return {};
  }
  void listen(std::string channel, std::function<void(const std::string&)> callback) override {
    std::lock_guard lock(m_listenMutex);
    m_listeners.emplace_back(std::move(channel), std::move(callback));
  }

 protected:
  void release(SqlConnection* connection) override {
    if (connection == &m_writer) {
      m_writerMutex.unlock();
      return;
    }
    auto* reader = static_cast<SqliteConnection*>(connection);
    (void)reader->exec("COMMIT", {});
    {
      std::lock_guard lock(m_readerMutex);
      m_idleReaders.push_back(reader);
    }
    m_readerFree.notify_one();
  }

 private:
  using Note = std::pair<std::string, std::string>;
  struct Batch {
    int members = 0;
    bool done = false;
    std::optional<DbFailure> failure;
    std::vector<Note> notes;
  };
  static constexpr int kMaxBatch = 256;

  // Counts who queues for the writer: a member leaves the batch open only for them.
  std::unique_lock<std::mutex> lockWriter() {
    ++m_waiting;
    std::unique_lock lock(m_writerMutex);
    --m_waiting;
    return lock;
  }

  void commitBatch(std::unique_lock<std::mutex>& lock) {
    if (auto committed = m_writer.execScript("COMMIT"); !committed) {
      m_batch->failure = committed.error();
      if (m_writer.inTransaction()) (void)m_writer.execScript("ROLLBACK");
    }
    finishBatch(lock);
  }

  // Fails what the batch holds so far (used when the batch cannot go on).
  void endBatch(std::unique_lock<std::mutex>& lock, const DbFailure& failure) {
    if (m_writer.inTransaction()) (void)m_writer.execScript("ROLLBACK");
    m_batch->failure = failure;
    finishBatch(lock);
  }

  // Releases the writer, wakes the members and tells the listeners what was committed.
  void finishBatch(std::unique_lock<std::mutex>& lock) {
    auto batch = std::move(m_batch);
    m_batch.reset();
    lock.unlock();
    {
      std::lock_guard done(m_doneMutex);
      batch->done = true;
    }
    m_done.notify_all();
    if (batch->failure || batch->notes.empty()) return;
    std::lock_guard listening(m_listenMutex);
    for (const auto& [channel, payload] : batch->notes) {
      for (const auto& [listened, callback] : m_listeners) {
        if (listened == channel) callback(payload);
      }
    }
  }

  const std::string m_path;
  std::mutex m_writerMutex;
  std::atomic<int> m_waiting{0};
  SqliteConnection m_writer;
  std::shared_ptr<Batch> m_batch;  // the open batch, under m_writerMutex
  std::vector<Note> m_notes;       // the running member's notifications
  std::mutex m_doneMutex;
  std::condition_variable m_done;

  const bool m_separateReaders;
  const std::size_t m_maxReaders;
  std::mutex m_readerMutex;
  std::condition_variable m_readerFree;
  std::vector<std::unique_ptr<SqliteConnection>> m_readers;
  std::vector<SqliteConnection*> m_idleReaders;

  std::mutex m_listenMutex;
  std::vector<std::pair<std::string, std::function<void(const std::string&)>>> m_listeners;
};

// ---------------------------------------------------------------------------------------
// PostgreSQL: a pool of connections, one per concurrent request; LISTEN on a dedicated one.

class PgConnection final : public SqlConnection {
 public:
  explicit PgConnection(const std::string& url) : m_conn(PQconnectdb(url.c_str())) {
    if (PQstatus(m_conn) != CONNECTION_OK) {
      std::string message = PQerrorMessage(m_conn);
      PQfinish(m_conn);
      throw std::runtime_error("cannot connect to PostgreSQL: " + message);
    }
    PQsetNoticeProcessor(m_conn, [](void*, const char*) {}, nullptr);
  }
  ~PgConnection() override { PQfinish(m_conn); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  PGconn* raw() { return m_conn; }

  Result<SqlResult, DbFailure> exec(std::string_view sql,
                                    const std::vector<SqlValue>& params) override {
    if (!m_beginPending && m_later.empty()) {
      Texts texts(params);
      const std::string* name = preparedName(sql, params.size());
      if (name == nullptr) {
        auto made = prepare(sql, params.size());
        if (!made) return fail(made.error());
        name = *made;
      }
      return collect(PQexecPrepared(m_conn, name->c_str(), static_cast<int>(params.size()),
                                    texts.values.data(), nullptr, nullptr, 0));
    }
    auto results = pipeline({{std::string(sql), params}}, false);
    if (!results) return fail(results.error());
    return std::move(results->back());
  }

  Result<std::vector<SqlResult>, DbFailure> execAll(
      const std::vector<SqlStatement>& statements) override {
    return pipeline(statements, false);
  }

  Result<void, DbFailure> execLater(std::string_view sql, std::vector<SqlValue> params) override {
    if (!m_beginPending && PQtransactionStatus(m_conn) == PQTRANS_IDLE) {
      auto result = exec(sql, params);
      if (!result) return fail(result.error());
      return {};
    }
    m_later.push_back({std::string(sql), std::move(params)});
    return {};
  }

  Result<void, DbFailure> execScript(std::string_view sql) override {
    if (m_beginPending || !m_later.empty()) {
      auto flushed = pipeline({}, false);  // the script belongs inside the transaction
      if (!flushed) return fail(flushed.error());
    }
    const std::string script(sql);
    auto result = collect(PQexec(m_conn, script.c_str()));
    if (!result) return fail(result.error());
    return {};
  }
  // BEGIN waits for the transaction's first statement and leaves with it.
  Result<void, DbFailure> begin() override {
    m_later.clear();
    m_beginPending = true;
    return {};
  }
  // The queued writes and COMMIT leave together.
  Result<void, DbFailure> commit() override {
    if (m_beginPending && m_later.empty()) {
      m_beginPending = false;  // nothing was sent: nothing to commit
      return {};
    }
    auto done = pipeline({}, true);
    if (!done) return fail(done.error());
    return {};
  }
  void rollback() override {
    m_beginPending = false;
    m_later.clear();
    if (PQtransactionStatus(m_conn) != PQTRANS_IDLE) (void)execScript("ROLLBACK");
  }

  bool healthy() const { return PQstatus(m_conn) == CONNECTION_OK; }
  void reset() {
    PQreset(m_conn);
    m_prepared.clear();  // prepared statements die with the session
    m_beginPending = false;
    m_later.clear();
  }

 private:
  struct Queued {
    std::string sql;
    std::vector<SqlValue> params;
  };

  // Parameters as libpq wants them: text, or null.
  struct Texts {
    explicit Texts(const std::vector<SqlValue>& params)
        : storage(params.size()), values(params.size(), nullptr) {
      for (std::size_t i = 0; i < params.size(); ++i) {
        if (const auto* number = std::get_if<std::int64_t>(&params[i])) {
          storage[i] = std::to_string(*number);
          values[i] = storage[i].c_str();
        } else if (const auto* text = std::get_if<std::string>(&params[i])) {
          values[i] = text->c_str();
        }
      }
    }
    std::vector<std::string> storage;
    std::vector<const char*> values;
  };

  const std::string* preparedName(std::string_view sql, std::size_t /*params*/) const {
    const auto it = m_prepared.find(sql);
    return it == m_prepared.end() ? nullptr : &it->second;
  }

  // Each statement is prepared once per connection: the server parses and plans it once.
  Result<const std::string*, DbFailure> prepare(std::string_view sql, std::size_t params) {
    const std::string name = "s" + std::to_string(m_nextName++);
    const std::string query(sql);
    auto made =
        collect(PQprepare(m_conn, name.c_str(), query.c_str(), static_cast<int>(params), nullptr));
    if (!made) return fail(made.error());
    return &m_prepared.emplace(query, name).first->second;
  }

  // Sends [BEGIN] + queued writes + statements [+ COMMIT] as one pipeline and reads every
  // answer; returns the results of `statements`. After a failure the server skips the rest
  // up to the sync point and the transaction is left failed for rollback().
  Result<std::vector<SqlResult>, DbFailure> pipeline(const std::vector<SqlStatement>& statements,
                                                     bool commit) {
    enum class Kind { Control, Prepare, Later, Wanted };
    struct Expect {
      Kind kind;
      std::string prepared;  // for Prepare: the statement text it names
    };
    std::vector<Expect> expected;
    std::map<std::string, std::string, std::less<>> preparing;
    std::vector<Queued> later = std::move(m_later);
    m_later.clear();

    if (PQenterPipelineMode(m_conn) != 1) {
      return fail(DbFailure{DbErrorKind::Unavailable, PQerrorMessage(m_conn)});
    }
    bool sent = true;
    auto sendControl = [&](const char* command) {
      sent = sent && PQsendQueryParams(m_conn, command, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
      expected.push_back({Kind::Control, {}});
    };
    auto sendStatement = [&](std::string_view sql, const std::vector<SqlValue>& params, Kind kind) {
      const std::string* name = preparedName(sql, params.size());
      if (name == nullptr) {
        auto pending = preparing.find(sql);
        if (pending == preparing.end()) {
          const std::string query(sql);
          pending = preparing.emplace(query, "s" + std::to_string(m_nextName++)).first;
          sent = sent && PQsendPrepare(m_conn, pending->second.c_str(), query.c_str(),
                                       static_cast<int>(params.size()), nullptr) == 1;
          expected.push_back({Kind::Prepare, query});
        }
        name = &pending->second;
      }
      Texts texts(params);
      sent = sent && PQsendQueryPrepared(m_conn, name->c_str(), static_cast<int>(params.size()),
                                         texts.values.data(), nullptr, nullptr, 0) == 1;
      expected.push_back({kind, {}});
    };
    if (m_beginPending) sendControl("BEGIN");
    m_beginPending = false;
    for (const auto& queued : later) sendStatement(queued.sql, queued.params, Kind::Later);
    for (const auto& statement : statements) sendStatement(statement.sql, statement.params, Kind::Wanted);
    if (commit) sendControl("COMMIT");
    sent = sent && PQpipelineSync(m_conn) == 1;

    std::optional<DbFailure> failure;
    if (!sent) failure = DbFailure{DbErrorKind::Unavailable, PQerrorMessage(m_conn)};
    std::vector<SqlResult> results;
    results.reserve(statements.size());
    // Every command answers with one result followed by a null; the sync point with one result.
    for (const auto& expect : expected) {
      if (!sent) break;
      PGresult* res = PQgetResult(m_conn);
      if (res == nullptr) {
        failure = DbFailure{DbErrorKind::Unavailable, PQerrorMessage(m_conn)};
        sent = false;
        break;
      }
      if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED) {
        PQclear(res);
      } else {
        auto result = collect(res);
        if (!result) {
          if (!failure) failure = result.error();
        } else if (expect.kind == Kind::Prepare) {
          m_prepared.emplace(expect.prepared, preparing.at(expect.prepared));
        } else if (expect.kind == Kind::Wanted) {
          results.push_back(std::move(result).value());
        }
      }
      while (PGresult* extra = PQgetResult(m_conn)) PQclear(extra);
    }
    if (sent) {
      PGresult* sync = PQgetResult(m_conn);
      if (sync == nullptr || PQresultStatus(sync) != PGRES_PIPELINE_SYNC) {
        if (!failure) failure = DbFailure{DbErrorKind::Unavailable, PQerrorMessage(m_conn)};
      }
      if (sync != nullptr) PQclear(sync);
    }
    if (PQexitPipelineMode(m_conn) != 1) {
      // Only a broken connection leaves answers unread; reset it before the next lease.
      if (!failure) failure = DbFailure{DbErrorKind::Unavailable, PQerrorMessage(m_conn)};
      PQreset(m_conn);
      m_prepared.clear();
    }
    if (failure) return fail(*failure);
    return results;
  }

  Result<SqlResult, DbFailure> collect(PGresult* res) {
    const auto status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      DbFailure failure{DbErrorKind::Other, PQresultErrorMessage(res)};
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      const std::string sqlstate = state ? state : "";
      if (sqlstate == "23505") failure.kind = DbErrorKind::Unique;
      if (sqlstate == "40001" || sqlstate == "40P01") failure.kind = DbErrorKind::Retry;
      if (res == nullptr || PQstatus(m_conn) != CONNECTION_OK || sqlstate.starts_with("08")) {
        failure.kind = DbErrorKind::Unavailable;
        if (res == nullptr) failure.message = PQerrorMessage(m_conn);
      }
      PQclear(res);
      return fail(failure);
    }
    SqlResult result;
    const int rows = PQntuples(res);
    const int columns = PQnfields(res);
    result.rows.reserve(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      SqlRow row;
      row.columns.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(res, r, c) != 0) {
          row.columns.emplace_back(std::nullopt);
        } else {
          row.columns.emplace_back(std::string(PQgetvalue(res, r, c),
                                               static_cast<std::size_t>(PQgetlength(res, r, c))));
        }
      }
      result.rows.push_back(std::move(row));
    }
    const char* tuples = PQcmdTuples(res);
    if (tuples != nullptr && *tuples != '\0') result.affected = std::stoll(tuples);
    PQclear(res);
    return result;
  }

  PGconn* m_conn;
  std::map<std::string, std::string, std::less<>> m_prepared;
  std::uint64_t m_nextName = 0;
  bool m_beginPending = false;
  std::vector<Queued> m_later;
};

class PgDatabase final : public Database {
 public:
  PgDatabase(std::string url, int poolSize) : m_url(std::move(url)) {
    for (int i = 0; i < poolSize; ++i) {
      m_all.push_back(std::make_unique<PgConnection>(m_url));
      m_free.push_back(m_all.back().get());
    }
  }
  ~PgDatabase() override {
    m_stop = true;
    if (m_listener.joinable()) m_listener.join();
  }
  PgDatabase(const PgDatabase&) = delete;
  PgDatabase& operator=(const PgDatabase&) = delete;

  Dialect dialect() const override { return Dialect::Postgres; }

  // First come, first served: a released connection goes straight to the longest waiting
  // request, so under load no request starves behind luckier ones (the p99 is the queue's
  // length, not chance) and only the one thread that gets it wakes up.
  Lease acquire() override {
    std::unique_lock lock(m_mutex);
    PgConnection* connection = nullptr;
    if (!m_free.empty() && m_waiters.empty()) {
      connection = m_free.back();
      m_free.pop_back();
    } else {
      Waiter waiter;
      m_waiters.push_back(&waiter);
      waiter.handed.wait(lock, [&] { return waiter.connection != nullptr; });
      connection = waiter.connection;
    }
    lock.unlock();
    if (!connection->healthy()) connection->reset();
    return Lease(this, connection);
  }

  Result<void, DbFailure> notify(SqlConnection& conn, std::string_view channel,
                                 std::string_view payload) override {
    return conn.execLater("SELECT pg_notify($1, $2)", {std::string(channel), std::string(payload)});
  }

  void listen(std::string channel, std::function<void(const std::string&)> callback) override {
    {
      std::lock_guard lock(m_listenMutex);
      m_listeners.emplace_back(channel, std::move(callback));
      m_channels.push_back(std::move(channel));
    }
    if (!m_listener.joinable()) m_listener = std::thread([this] { listenLoop(); });
  }

 protected:
  void release(SqlConnection* connection) override {
    std::lock_guard lock(m_mutex);
    if (m_waiters.empty()) {
      m_free.push_back(static_cast<PgConnection*>(connection));
      return;
    }
    Waiter* next = m_waiters.front();
    m_waiters.pop_front();
    next->connection = static_cast<PgConnection*>(connection);
    next->handed.notify_one();  // under the lock: the waiter cannot leave (and die) before
  }

 private:
  struct Waiter {
    PgConnection* connection = nullptr;
    std::condition_variable handed;
  };

  void listenLoop() {
    std::unique_ptr<PgConnection> conn;
    std::size_t listening = 0;
    while (!m_stop) {
      if (!conn || !conn->healthy()) {
        try {
          conn = std::make_unique<PgConnection>(m_url);
          listening = 0;
        } catch (const std::exception& e) {
          spdlog::warn("db listen: {}", e.what());
          std::this_thread::sleep_for(std::chrono::seconds(1));
          continue;
        }
      }
      {
        std::lock_guard lock(m_listenMutex);
        for (; listening < m_channels.size(); ++listening) {
          (void)conn->execScript("LISTEN \"" + m_channels[listening] + "\"");
        }
      }
      const int socket = PQsocket(conn->raw());
      fd_set set;
      FD_ZERO(&set);
      FD_SET(socket, &set);
      timeval timeout{0, 200000};
      if (select(socket + 1, &set, nullptr, nullptr, &timeout) < 0) continue;
      PQconsumeInput(conn->raw());
      while (PGnotify* note = PQnotifies(conn->raw())) {
        const std::string channel = note->relname;
        const std::string payload = note->extra;
        PQfreemem(note);
        std::lock_guard lock(m_listenMutex);
        for (const auto& [listened, callback] : m_listeners) {
          if (listened == channel) callback(payload);
        }
      }
    }
  }

  std::string m_url;
  std::mutex m_mutex;
  std::vector<std::unique_ptr<PgConnection>> m_all;
  std::vector<PgConnection*> m_free;
  std::deque<Waiter*> m_waiters;  // in arrival order; each lives on its waiting thread's stack
  std::atomic<bool> m_stop{false};
  std::thread m_listener;
  std::mutex m_listenMutex;
  std::vector<std::string> m_channels;
  std::vector<std::pair<std::string, std::function<void(const std::string&)>>> m_listeners;
};

}  // namespace

std::unique_ptr<Database> openDatabase(const std::string& url, int poolSize) {
  if (url.starts_with("sqlite://")) {
    std::string path = url.substr(std::string_view("sqlite://").size());
    if (path.empty()) throw std::runtime_error("database URL has no path: " + url);
    return std::make_unique<SqliteDatabase>(path, poolSize);
  }
  if (url == "sqlite::memory:") return std::make_unique<SqliteDatabase>(":memory:", 1);
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return std::make_unique<PgDatabase>(url, poolSize < 1 ? 1 : poolSize);
  }
  throw std::runtime_error("unsupported database URL (want sqlite:///path or postgresql://...): " +
                           url);
}

}  // namespace kiosk::cloud
