#pragma once
// kiosk-cloud's HTTP layer, on Boost.Beast and Asio: event-driven, so that a connection costs
// no thread until its whole request is in, and a request whose answer waits (a long poll)
// costs none while it waits.
//
// - A few I/O threads read requests: request line and headers (at most `maxHeader` bytes),
//   then the body, limited to `maxBody` as it arrives whatever its transfer encoding (an
//   announced Content-Length beyond it is refused before any body is read). The whole
//   request must arrive by `requestDeadline` from the connection's first byte (its TLS
//   handshake included); then the connection closes.
// - A complete request goes to a pool of `workers` handler threads (database work). A handler
//   answers through its Responder, at once or later from any thread; until then the
//   connection waits without a thread.
// - At most `maxConnectionsPerAddress` connections per client address, and `maxConnections`
//   in all; more are closed at accept.
// - Binding fails on a port in use (SO_REUSEADDR only, never SO_REUSEPORT).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiosk::cloud::http {

struct Request {
  std::string method;
  std::string target;  // as sent: path and query, undecoded
  std::string path;    // the target's path, undecoded
  std::vector<std::pair<std::string, std::string>> params;   // the query and a form's fields, decoded
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  std::string body;
  std::string remoteIp;
  std::vector<std::string> matches;  // the route's captures; [0] is the whole path

  // The first header of this name (any case), or "".
  std::string header(std::string_view name) const;
  bool hasParam(std::string_view name) const;
  std::string param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  void setContent(std::string content, std::string type) {
    body = std::move(content);
    contentType = std::move(type);
  }
  void setHeader(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

class Connection;

// Answers one request, exactly once, from any thread. A later call does nothing; a request
// whose Responder is dropped unanswered is answered 500.
class Responder {
 public:
  explicit Responder(std::shared_ptr<Connection> connection);
  ~Responder();
  Responder(Responder&&) noexcept;
  Responder& operator=(Responder&&) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  void operator()(Response response);
  bool answered() const { return m_connection == nullptr; }

 private:
  std::shared_ptr<Connection> m_connection;
};

using Handler = std::function<void(Request&, Responder)>;

// What the layer answers by itself: no such route (404), a body too large (413), no length
// for a body (411), headers too large (431), a request that does not parse (400), a handler
// that threw (500). `code` is the API's error code for it.
using ErrorRenderer = std::function<Response(int status, std::string_view code, std::string_view message)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;                 // 0: any free port
  std::string certFile;         // with keyFile: HTTPS only
  std::string keyFile;
  int ioThreads = 2;
  int workers = 16;             // handler threads
  std::size_t maxHeader = 16 * 1024;
  std::size_t maxTarget = 8 * 1024;
  std::size_t maxBody = 1024 * 1024;
  std::chrono::milliseconds requestDeadline{15000};
  std::chrono::milliseconds idleTimeout{15000};  // between requests on a kept-alive connection
  std::chrono::milliseconds writeTimeout{10000};
  std::chrono::milliseconds stopDeadline{10000};  // for the answers under way when stop() begins
  int maxConnectionsPerAddress = 256;
  int maxConnections = 10000;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // `pattern` is a regular expression matched against the whole path; its groups become
  // Request::matches. Routes are tried in the order added.
  void route(std::string method, const std::string& pattern, Handler handler);
  void setErrorRenderer(ErrorRenderer renderer);

  // Binds and listens; returns the port. Throws std::runtime_error naming the cause ("Address
  // already in use") when it cannot.
  int bind();
  // Serves until stop(); blocks.
  void run();
  // Stops accepting, closes idle connections, lets answers under way finish (a parked
  // request is answered by its owner, who is told to through onStop), then returns from run().
  void stop();
  // Called once when stop() begins: whoever parks answers (long polls) answers them now.
  void onStop(std::function<void()> callback);

  // Runs `fn` on a handler thread after `delay` (timers for parked answers), or at once when
  // stopping.
  void after(std::chrono::milliseconds delay, std::function<void()> fn);

  struct Stats {
    long connections = 0;  // open now
    long parked = 0;       // requests whose answer waits
    long refusedAtAccept = 0;
  };
  Stats stats() const;

  struct Impl;  // opaque outside cloud/http_layer.cpp

 private:
  std::shared_ptr<Impl> m_impl;
};

}  // namespace kiosk::cloud::http
