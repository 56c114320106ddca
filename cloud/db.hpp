#pragma once
// The billing store's connection to SQL: one interface over SQLite (embedded default) and
// PostgreSQL (libpq), chosen by URL. Statements use $1, $2... placeholders on both.

#include "cloud/error.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kiosk::cloud {

using SqlValue = std::variant<std::nullptr_t, std::int64_t, std::string>;

struct SqlRow {
  std::vector<std::optional<std::string>> columns;

  bool isNull(std::size_t i) const { return !columns.at(i).has_value(); }
  std::string text(std::size_t i) const { return columns.at(i).value_or(""); }
  std::int64_t integer(std::size_t i) const;
  std::optional<std::int64_t> optInteger(std::size_t i) const;
};

struct SqlResult {
  std::vector<SqlRow> rows;
  std::int64_t affected = 0;
};

enum class Dialect { Sqlite, Postgres };

enum class DbErrorKind { Unique, Retry, Other, Unavailable };

struct DbFailure {
  DbErrorKind kind = DbErrorKind::Other;
  std::string message;
};

struct SqlStatement {
  std::string sql;
  std::vector<SqlValue> params;
};

// One database session. Not thread-safe: a lease gives it to one thread at a time.
class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual Result<SqlResult, DbFailure> exec(std::string_view sql,
                                            const std::vector<SqlValue>& params = {}) = 0;
  // Runs statements that do not need each other's results, in order, in one round trip to
  // the server (a pipeline on PostgreSQL); fails with the first statement that fails.
  virtual Result<std::vector<SqlResult>, DbFailure> execAll(
      const std::vector<SqlStatement>& statements) = 0;
  // A write whose result nobody reads. Inside a transaction it may wait and travel with the
  // next statement or with commit(), which then reports its failure; outside one it runs now.
  virtual Result<void, DbFailure> execLater(std::string_view sql, std::vector<SqlValue> params) = 0;
  // Runs a script of several statements without parameters (migrations).
  virtual Result<void, DbFailure> execScript(std::string_view sql) = 0;
  virtual Result<void, DbFailure> begin() = 0;
  virtual Result<void, DbFailure> commit() = 0;
  virtual void rollback() = 0;
};

class Database {
 public:
  class Lease {
   public:
    Lease(Database* owner, SqlConnection* connection) : m_owner(owner), m_conn(connection) {}
    Lease(Lease&& other) noexcept : m_owner(other.m_owner), m_conn(other.m_conn) {
      other.m_owner = nullptr;
      other.m_conn = nullptr;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (m_owner != nullptr) m_owner->release(m_conn);
    }
    SqlConnection& operator*() const { return *m_conn; }
    SqlConnection* operator->() const { return m_conn; }

   private:
    Database* m_owner;
    SqlConnection* m_conn;
  };

  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;
  // A connection for reads (one consistent snapshot for the lease's life on SQLite). Writes
  // go through inTransaction() or execWrite().
  virtual Lease acquire() = 0;

  // Runs `work` in a transaction: commits when it returns true, rolls back when it returns
  // false. Returns once the commit is durable, or with the failure to begin or commit
  // (DbErrorKind::Retry: nothing was kept, run it again).
  virtual Result<void, DbFailure> inTransaction(const std::function<bool(SqlConnection&)>& work);
  // One statement that writes, committed on its own.
  virtual Result<SqlResult, DbFailure> execWrite(std::string_view sql,
                                                 const std::vector<SqlValue>& params);

  // Wake-ups across processes: publish an order id on a channel (inside the caller's
  // transaction on PostgreSQL, so listeners only hear committed changes).
  virtual Result<void, DbFailure> notify(SqlConnection& conn, std::string_view channel,
                                         std::string_view payload) = 0;
  // Starts listening on a channel; the callback runs on a background thread. SQLite has no
  // cross-process notification: its callback only hears this process's notify(). An empty
  // payload means notifications may have been lost (the listening connection was lost and
  // made again): anything on the channel may have changed.
  virtual void listen(std::string channel, std::function<void(const std::string&)> callback) = 0;

 protected:
  virtual void release(SqlConnection* connection) = 0;
};

// "sqlite:///var/lib/kiosk/cloud.sqlite", "sqlite::memory:", "postgresql://user@host:5432/db"
// (any libpq conninfo URI, including ?host=/socket/dir). Throws std::runtime_error when the
// database cannot be opened (a startup error).
std::unique_ptr<Database> openDatabase(const std::string& url, int poolSize);

// Maps a database failure to the API's error.
Failure toFailure(const DbFailure& failure);

// Runs `body(conn)` in a transaction; commits when it returns a value, rolls back otherwise.
// Serialization failures, deadlocks and a busy SQLite are retried a few times.
template <class T>
CloudResult<T> transact(Database& db, const std::function<CloudResult<T>(SqlConnection&)>& body) {
  constexpr int kAttempts = 8;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::optional<CloudResult<T>> result;
    auto done = db.inTransaction([&](SqlConnection& conn) {
      result.emplace(body(conn));
      return result->has_value();
    });
    if (!done) {
      if (done.error().kind == DbErrorKind::Retry) continue;
      return Unexpected<Failure>{toFailure(done.error())};
    }
    if (!*result && result->error().error == CloudError::Unavailable &&
        result->error().message == "retry") {
      continue;
    }
    return std::move(*result);
  }
  return Unexpected<Failure>{Failure{CloudError::Unavailable, "database busy"}};
}

}  // namespace kiosk::cloud
