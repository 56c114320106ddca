#pragma once
// Test fixtures that start the real things: a PostgreSQL server of the test's own (initdb in a
// temporary folder, as the postgres user, on a free port), and kiosk-cloud processes against
// SQLite or that server; plus a kiosk client that signs its requests like a real kiosk.

#include "card/crypto.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace kiosk::cloud::test {

int freePort();

// A private PostgreSQL 15 cluster, started once per test program and stopped at exit.
class PgServer {
 public:
  static PgServer& instance();
  // A fresh, empty database; returns its libpq URL.
  std::string createDatabase();
  // Creates the database `name` if needed; returns the name (for pgbench).
  std::string createDatabaseNamed(const std::string& name) const;
  std::string url(const std::string& database) const;
  const std::string& socketDir() const { return m_socketDir; }
  int port() const { return m_port; }
  ~PgServer();

 private:
  PgServer();
  std::filesystem::path m_dir;
  std::string m_socketDir;
  int m_port = 0;
  int m_databases = 0;
};

enum class Backend { Sqlite, Postgres };
std::string backendName(Backend backend);

// One kiosk-cloud process. The folder holds its keys (mode 0600), config and database.
class CloudProcess {
 public:
  struct Options {
    std::string database;  // empty: a SQLite file in the folder
    std::int64_t orderTtlSeconds = 300;
    int sweepIntervalMs = 200;
    std::int64_t minAmount = 100;
    std::int64_t maxAmount = 50000;
    bool withKeys = true;
    std::string extraJson;  // merged into the config file
    std::string binary;     // empty: the kiosk-cloud built with the tests (benchmarks compare others)
  };
  explicit CloudProcess(Options options, std::filesystem::path dir = {});
  ~CloudProcess();
  CloudProcess(const CloudProcess&) = delete;
  CloudProcess& operator=(const CloudProcess&) = delete;

  int port() const { return m_port; }
  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  const std::filesystem::path& dir() const { return m_dir; }
  const card::SymKey& vendingKey() const { return m_vending; }
  const card::SymKey& smMasterKey() const { return m_smMaster; }
  const std::string& database() const { return m_database; }
  std::filesystem::path issuerKeyFile() const { return m_dir / "issuer.key.pem"; }
  static constexpr const char* kAdminToken = "test-admin-token-0123456789";
  static constexpr const char* kProviderSecret = "test-provider-secret-0123456789";
  static constexpr const char* kKioskSecret = "0123456789abcdef0123456789abcdef";
  // Runs `kiosk-cloud seed-demo` against this process's database.
  nlohmann::json seedDemo() const;
  // Runs kiosk-cloud with these arguments and the same config, waits, returns exit code and
  // the combined output.
  std::pair<int, std::string> runTool(const std::vector<std::string>& args) const;
  // The same, killed after `limit` (exit code 124, as timeout(1) reports it).
  std::pair<int, std::string> runToolWithin(std::chrono::seconds limit,
                                            const std::vector<std::string>& args) const;
  // SIGTERM, then SIGKILL after 10 s: the exit code, or -1 when it had to be killed or died
  // of a signal.
  int stop();
  pid_t pid() const { return m_pid; }

 private:
  std::filesystem::path m_dir;
  std::string m_binary;
  std::string m_database;
  card::SymKey m_vending{};
  card::SymKey m_smMaster{};
  pid_t m_pid = -1;
  int m_port = 0;
};

struct Reply {
  int status = 0;
  nlohmann::json body;
  std::string text;
  httplib::Headers headers;
  std::string errorCode() const;
  std::string errorMessage() const;
};

// An httplib answer as a Reply (status -1 and the error's name when there was none).
Reply toReply(const httplib::Result& result);

// Signs like a kiosk: HMAC-SHA256 over method, target, timestamp, nonce, body hash.
class KioskClient {
 public:
  KioskClient(int port, std::string kioskId, std::string secret);
  Reply get(const std::string& target, httplib::Headers extra = {});
  Reply post(const std::string& target, const nlohmann::json& body);
  Reply postRaw(const std::string& target, const std::string& body);
  // Full control, for the bad-input tests.
  Reply send(const std::string& method, const std::string& target, const std::string& body,
             std::int64_t timestamp, const std::string& nonce, const std::string& secret,
             httplib::Headers extra = {});
  std::string lastNonce() const { return m_lastNonce; }

 private:
  int m_port;
  std::string m_kioskId;
  std::string m_secret;
  std::string m_lastNonce;
  std::unique_ptr<httplib::Client> m_client;
};

class AdminClient {
 public:
  explicit AdminClient(int port);
  Reply get(const std::string& target);
  Reply post(const std::string& target, const nlohmann::json& body);

 private:
  httplib::Client m_client;
};

// Presses Pay (or Decline) on the simulated provider's pay page, the way the page's form does.
// The simulated provider's signed notification that the order was paid, as its servers send
// it: a wallet that took the money whatever the kiosk did meanwhile.
Reply notifyPaid(int port, const std::string& orderId, std::int64_t amount);
Reply pressPayButton(int port, const std::string& orderId, const std::string& action);

// The reconciliation report once `refunded` minor units have gone back (the sweeper sends them on
// its own schedule), or the last one read after `tries` reads 100 ms apart (20 s by default:
// the sweeper shares two busy cores with the rest of the suite).
nlohmann::json reconciliationOnceRefunded(AdminClient& admin, std::int64_t refunded, int tries = 200);

// A TCP connection to 127.0.0.1:port driven byte by byte, for requests no HTTP client would
// send (raw bytes in headers, requests that arrive a byte at a time).
class RawConnection {
 public:
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  // False once the server has closed the connection (or the send failed).
  bool send(const std::string& bytes);
  // Sends what the server takes of `bytes` until `deadline`, never blocking past it: how many
  // bytes went out (fewer once the server stops reading or closes).
  std::size_t sendUntil(const std::string& bytes, std::chrono::steady_clock::time_point deadline);
  // True when the server closed the connection within `timeout` (after any reply it sent).
  bool closedWithin(std::chrono::milliseconds timeout);
  // Reads one response (status line, headers and Content-Length bytes of body), or what came
  // before the server closed the connection or `timeout` passed.
  Reply readReply(std::chrono::milliseconds timeout);

 private:
  // Reads what is there into m_received, waiting at most until `deadline`; false when the
  // server closed the connection or the time is up.
  bool receiveMore(std::chrono::steady_clock::time_point deadline);

  int m_fd = -1;
  std::string m_received;
};

// Sends one complete request on a fresh connection ("Connection: close") and reads the reply.
Reply rawRequest(int port, const std::string& request,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

std::string randomChallenge();

// A process's resident set now and at its peak (VmRSS, VmHWM in /proc/PID/status), in KiB.
struct Memory {
  long rssKb = 0;
  long peakKb = 0;
};
Memory memoryOf(pid_t pid);

}  // namespace kiosk::cloud::test
