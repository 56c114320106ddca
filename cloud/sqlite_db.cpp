#include "cloud/sqlite_db.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace kiosk::cloud {
namespace {

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

}  // namespace

std::unique_ptr<Database> openSqliteDatabase(std::string path, int readers) {
  return std::make_unique<SqliteDatabase>(std::move(path), readers);
}

}  // namespace kiosk::cloud
