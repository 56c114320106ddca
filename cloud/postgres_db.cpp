#include "cloud/postgres_db.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>
#include <sys/select.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace kiosk::cloud {
namespace {

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
    bool reconnected = false;
    while (!m_stop) {
      if (!conn || !conn->healthy()) {
        try {
          reconnected = conn != nullptr;
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
        // What was announced while the connection was down is lost: every listener hears
        // that anything may have changed.
        if (reconnected) {
          reconnected = false;
          for (const auto& [listened, callback] : m_listeners) callback("");
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

std::unique_ptr<Database> openPostgresDatabase(std::string url, int poolSize) {
  return std::make_unique<PgDatabase>(std::move(url), poolSize);
}

}  // namespace kiosk::cloud
