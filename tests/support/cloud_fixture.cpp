#include "tests/support/cloud_fixture.hpp"

#include "platform/bytes.hpp"
#include "protocol/signing.hpp"
#include "platform/temp_dir.hpp"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace kiosk::cloud::test {
namespace {

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";

std::string readAll(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  return pid;
}

int runAndWait(const std::vector<std::string>& args, const std::filesystem::path& log) {
  const pid_t pid = spawn(args, log);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void chownToPostgres(const std::filesystem::path& path) {
  const std::string cmd = "chown -R postgres:postgres '" + path.string() + "'";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("chown failed: " + path.string());
}

}  // namespace

// A test's client writes bodies the service refuses before reading them (413 for an announced
// length beyond the limit): the write then fails with EPIPE, as libcurl's does in a kiosk,
// instead of killing the test program.
[[maybe_unused]] const bool kWritesToAClosedConnectionFail = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

int freePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string backendName(Backend backend) {
  return backend == Backend::Sqlite ? "SQLite" : "PostgreSQL";
}

// ---------------------------------------------------------------------------------------

PgServer& PgServer::instance() {
  static PgServer server;
  return server;
}

PgServer::PgServer() {
  m_dir = platform::makeTempDir("kiosk-pg-");
  m_socketDir = (m_dir / "sock").string();
  std::filesystem::create_directories(m_socketDir);
  chownToPostgres(m_dir);
  const auto log = m_dir / "setup.log";
  const std::string data = (m_dir / "data").string();
  // initdb refuses to run as root: the cluster belongs to the postgres user.
  if (runAndWait({"/usr/sbin/runuser", "-u", "postgres", "--", std::string(kPgBin) + "/initdb", "-D",
                  data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"},
                 log) != 0) {
    throw std::runtime_error("initdb failed: " + readAll(log));
  }
  m_port = freePort();
  const std::string options = "-p " + std::to_string(m_port) + " -k " + m_socketDir +
                              " -c listen_addresses='' -c max_connections=400 -c fsync=off "
                              "-c synchronous_commit=off -c full_page_writes=off";
  if (runAndWait({"/usr/sbin/runuser", "-u", "postgres", "--", std::string(kPgBin) + "/pg_ctl", "-D",
                  data, "-o", options, "-l", (m_dir / "server.log").string(), "-w", "start"},
                 log) != 0) {
    throw std::runtime_error("pg_ctl start failed: " + readAll(log) + readAll(m_dir / "server.log"));
  }
}

PgServer::~PgServer() {
  (void)runAndWait({"/usr/sbin/runuser", "-u", "postgres", "--", std::string(kPgBin) + "/pg_ctl", "-D",
                    (m_dir / "data").string(), "-m", "immediate", "-w", "stop"},
                   m_dir / "setup.log");
  std::error_code ignored;
  std::filesystem::remove_all(m_dir, ignored);
}

std::string PgServer::url(const std::string& database) const {
  return "postgresql://postgres@/" + database + "?host=" + m_socketDir +
         "&port=" + std::to_string(m_port);
}

std::string PgServer::createDatabase() {
  return url(createDatabaseNamed("kiosk_" + std::to_string(++m_databases)));
}

std::string PgServer::createDatabaseNamed(const std::string& name) const {
  PGconn* conn = PQconnectdb(url("postgres").c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("cannot reach test PostgreSQL: " + message);
  }
  PGresult* res = PQexec(conn, ("CREATE DATABASE " + name).c_str());
  const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  const std::string message = PQresultErrorMessage(res);
  PQclear(res);
  PQfinish(conn);
  if (!ok) throw std::runtime_error("CREATE DATABASE failed: " + message);
  return name;
}

// ---------------------------------------------------------------------------------------

CloudProcess::CloudProcess(Options options, std::filesystem::path dir) {
  m_dir = dir.empty() ? platform::makeTempDir("kiosk-cloud-") : std::move(dir);
  m_binary = options.binary.empty() ? std::string(KIOSK_CLOUD_BINARY) : options.binary;
  m_database = options.database.empty() ? "sqlite://" + (m_dir / "cloud.sqlite").string()
                                         : options.database;
  nlohmann::json config{{"listen", "127.0.0.1"},
                        {"port", 0},
                        {"database", m_database},
                        {"admin_token", kAdminToken},
                        {"provider_secret", kProviderSecret},
                        {"order_ttl_seconds", options.orderTtlSeconds},
                        {"sweep_interval_ms", options.sweepIntervalMs},
                        {"min_amount", options.minAmount},
                        {"max_amount", options.maxAmount},
                        {"db_pool", 8},
                        {"threads", 48},
                        {"log_level", "info"}};
  if (options.withKeys) {
    const auto vendingFile = m_dir / "vending.key";
    const auto smFile = m_dir / "sm-master.key";
    if (!std::filesystem::exists(vendingFile)) {
      card::saveSymKey(vendingFile, card::randomKey());
      card::saveSymKey(smFile, card::randomKey());
      chmod(vendingFile.c_str(), 0600);
      chmod(smFile.c_str(), 0600);
    }
    const auto issuerFile = m_dir / "issuer.key.pem";
    if (!std::filesystem::exists(issuerFile)) {
      std::ofstream(issuerFile) << card::EcKey::generate()->privatePem();
      chmod(issuerFile.c_str(), 0600);
    }
    config["issuer_key_file"] = issuerFile.string();
    m_vending = *card::loadSymKey(vendingFile);
    m_smMaster = *card::loadSymKey(smFile);
    config["vending_key_file"] = vendingFile.string();
    config["sm_master_key_file"] = smFile.string();
  }
  if (!options.extraJson.empty()) config.merge_patch(nlohmann::json::parse(options.extraJson));
  std::ofstream(m_dir / "config.json") << config.dump(2);

  const auto portFile = m_dir / ("port-" + std::to_string(std::rand()));
  m_pid = spawn({m_binary, "-c", (m_dir / "config.json").string(), "--port-file",
                 portFile.string()},
                m_dir / "cloud.log");
  for (int i = 0; i < 300 && m_port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    int status = 0;
    if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      throw std::runtime_error("kiosk-cloud exited at start: " + readAll(m_dir / "cloud.log"));
    }
    std::ifstream in(portFile);
    int port = 0;
    if (in >> port) m_port = port;
  }
  if (m_port == 0) throw std::runtime_error("kiosk-cloud did not start: " + readAll(m_dir / "cloud.log"));
}

CloudProcess::~CloudProcess() { stop(); }

int CloudProcess::stop() {
  if (m_pid <= 0) return -1;
  kill(m_pid, SIGTERM);
  for (int i = 0; i < 400; ++i) {
    int status = 0;
    if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  kill(m_pid, SIGKILL);
  waitpid(m_pid, nullptr, 0);
  m_pid = -1;
  return -1;
}

std::pair<int, std::string> CloudProcess::runTool(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{m_binary, "-c", (m_dir / "config.json").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto log = m_dir / ("tool-" + std::to_string(std::rand()) + ".log");
  const int rc = runAndWait(argv, log);
  return {rc, readAll(log)};
}

std::pair<int, std::string> CloudProcess::runToolWithin(std::chrono::seconds limit,
                                                        const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"/usr/bin/timeout", "-s", "KILL", std::to_string(limit.count()), m_binary,
                                "-c", (m_dir / "config.json").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto log = m_dir / ("tool-" + std::to_string(std::rand()) + ".log");
  int rc = runAndWait(argv, log);
  if (rc == 128 + 9) rc = 124;  // killed at the limit
  return {rc, readAll(log)};
}

nlohmann::json CloudProcess::seedDemo() const {
  auto [rc, output] = runTool({"seed-demo", "--kiosk-secret", kKioskSecret});
  if (rc != 0) throw std::runtime_error("seed-demo failed: " + output);
  // The JSON document is the last thing printed, after the log lines.
  const auto start = output.find("\n{");
  return nlohmann::json::parse(output.substr(start == std::string::npos ? 0 : start + 1));
}

// ---------------------------------------------------------------------------------------

std::string Reply::errorCode() const {
  if (body.is_object() && body.contains("error")) return body["error"].value("code", "");
  return "";
}

std::string Reply::errorMessage() const {
  if (body.is_object() && body.contains("error")) return body["error"].value("message", "");
  return "";
}

Reply toReply(const httplib::Result& result) {
  Reply reply;
  if (!result) {
    reply.status = -1;
    reply.text = httplib::to_string(result.error());
    return reply;
  }
  reply.status = result->status;
  reply.text = result->body;
  reply.headers = result->headers;
  reply.body = nlohmann::json::parse(result->body, nullptr, false);
  return reply;
}

KioskClient::KioskClient(int port, std::string kioskId, std::string secret)
    : m_port(port),
      m_kioskId(std::move(kioskId)),
      m_secret(std::move(secret)),
      m_client(std::make_unique<httplib::Client>("127.0.0.1", port)) {
  m_client->set_read_timeout(std::chrono::seconds(60));
  m_client->set_keep_alive(true);
  // Headers and body leave in separate writes: without this, Nagle and delayed ACKs add 40 ms.
  m_client->set_tcp_nodelay(true);
}

Reply KioskClient::send(const std::string& method, const std::string& target, const std::string& body,
                        std::int64_t timestamp, const std::string& nonce, const std::string& secret,
                        httplib::Headers extra) {
  const std::string ts = std::to_string(timestamp);
  httplib::Headers headers{{"X-Kiosk-Id", m_kioskId},
                           {"X-Timestamp", ts},
                           {"X-Nonce", nonce},
                           {"X-Signature", protocol::hmacSha256Hex(secret, protocol::canonicalRequest(method, target, ts,
                                                                                   nonce, body))}};
  headers.insert(extra.begin(), extra.end());
  m_lastNonce = nonce;
  auto once = [&] {
    if (method == "GET") return toReply(m_client->Get(target.c_str(), headers));
    return toReply(m_client->Post(target.c_str(), headers, body, "application/json"));
  };
  Reply reply = once();
  if (reply.status == -1) {
    // A kept-alive connection the server closed while idle: as a kiosk would, send again (the
    // same nonce, so a request that did arrive shows up as a replay instead of counting twice).
    m_client->stop();
    reply = once();
  }
  return reply;
}

Reply KioskClient::get(const std::string& target, httplib::Headers extra) {
  return send("GET", target, "", std::time(nullptr), protocol::randomHex(16), m_secret, std::move(extra));
}

Reply KioskClient::post(const std::string& target, const nlohmann::json& body) {
  return postRaw(target, body.dump());
}

Reply KioskClient::postRaw(const std::string& target, const std::string& body) {
  return send("POST", target, body, std::time(nullptr), protocol::randomHex(16), m_secret);
}

AdminClient::AdminClient(int port) : m_client("127.0.0.1", port) {
  m_client.set_bearer_token_auth(CloudProcess::kAdminToken);
}

Reply AdminClient::get(const std::string& target) { return toReply(m_client.Get(target.c_str())); }

Reply AdminClient::post(const std::string& target, const nlohmann::json& body) {
  return toReply(m_client.Post(target.c_str(), body.dump(), "application/json"));
}

Reply notifyPaid(int port, const std::string& orderId, std::int64_t amount) {
  const std::string body = nlohmann::json{{"event_id", "evt-" + protocol::randomHex(8)}, {"order_id", orderId},
                                          {"status", "SUCCESS"}, {"amount", amount}}.dump();
  const std::string ts = std::to_string(std::time(nullptr));
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::seconds(30));
  return toReply(client.Post("/v1/payments/sim/notify",
                             {{"X-Provider-Timestamp", ts},
                              {"X-Provider-Signature",
                               protocol::hmacSha256Hex(CloudProcess::kProviderSecret, ts + "\n" + body)}},
                             body, "application/json"));
}

Reply pressPayButton(int port, const std::string& orderId, const std::string& action) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::seconds(30));
  return toReply(client.Post(("/pay/" + orderId).c_str(), "action=" + action,
                             "application/x-www-form-urlencoded"));
}

nlohmann::json reconciliationOnceRefunded(AdminClient& admin, std::int64_t refunded, int tries) {
  nlohmann::json report;
  for (int i = 0; i < tries; ++i) {
    report = admin.get("/v1/admin/reconciliation").body;
    if (report["money"]["refunded"] == refunded) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return report;
}

std::string randomChallenge() { return protocol::randomHex(8); }

// ---------------------------------------------------------------------------------------

RawConnection::RawConnection(int port) {
  m_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (m_fd < 0 || connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
}

RawConnection::~RawConnection() {
  if (m_fd >= 0) close(m_fd);
}

bool RawConnection::send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(m_fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::size_t RawConnection::sendUntil(const std::string& bytes, std::chrono::steady_clock::time_point deadline) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(m_fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{m_fd, POLLOUT, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0 || (p.revents & (POLLERR | POLLHUP)) != 0) break;
  }
  return sent;
}

Memory memoryOf(pid_t pid) {
  Memory memory;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) memory.rssKb = std::stol(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) memory.peakKb = std::stol(line.substr(6));
  }
  return memory;
}

bool RawConnection::receiveMore(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{m_fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buffer[4096];
  const ssize_t n = ::recv(m_fd, buffer, sizeof buffer, 0);
  if (n <= 0) return false;  // orderly close or reset
  m_received.append(buffer, static_cast<std::size_t>(n));
  return true;
}

bool RawConnection::closedWithin(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (receiveMore(deadline)) {
  }
  return std::chrono::steady_clock::now() < deadline;
}

Reply RawConnection::readReply(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Reply reply;
  std::size_t headEnd = std::string::npos;
  std::size_t length = 0;
  for (;;) {
    if (headEnd == std::string::npos) {
      headEnd = m_received.find("\r\n\r\n");
      if (headEnd != std::string::npos) {
        std::size_t line = m_received.find("\r\n");
        reply.status = m_received.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(m_received.c_str() + 9) : 0;
        while (line < headEnd) {
          const std::size_t next = m_received.find("\r\n", line + 2);
          const std::string field = m_received.substr(line + 2, next - line - 2);
          const auto colon = field.find(':');
          if (colon != std::string::npos) {
            const auto value = field.find_first_not_of(' ', colon + 1);
            reply.headers.emplace(field.substr(0, colon),
                                  value == std::string::npos ? "" : field.substr(value));
          }
          line = next;
        }
        length = static_cast<std::size_t>(
            std::atoll(httplib::detail::get_header_value(reply.headers, "Content-Length", 0, "0")));
      }
    }
    if (headEnd != std::string::npos && m_received.size() >= headEnd + 4 + length) break;
    if (!receiveMore(deadline)) break;
  }
  if (headEnd == std::string::npos) {
    reply.status = -1;
    reply.text = m_received.empty() ? "no reply" : m_received;
    return reply;
  }
  reply.text = m_received.substr(headEnd + 4, length);
  m_received.erase(0, std::min(m_received.size(), headEnd + 4 + length));
  reply.body = nlohmann::json::parse(reply.text, nullptr, false);
  return reply;
}

Reply rawRequest(int port, const std::string& request, std::chrono::milliseconds timeout) {
  RawConnection connection(port);
  if (!connection.send(request)) return Reply{-1, {}, "send failed", {}};
  return connection.readReply(timeout);
}

}  // namespace kiosk::cloud::test
