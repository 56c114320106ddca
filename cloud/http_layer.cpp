#include "cloud/http_layer.hpp"

// Asio's scheduler, inlined at -O2, trips GCC 12's -Wnull-dereference on a pointer it has
// checked elsewhere (a false positive); the warning stays on for the project's own code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/optional.hpp>
#pragma GCC diagnostic pop
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace kiosk::cloud::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

namespace {

bool sameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A query component, %XX and '+' decoded (bytes: whoever reads a parameter checks it is text).
std::string decodeComponent(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 &&
               hexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    params.emplace_back(decodeComponent(pair.substr(0, eq)),
                        eq == std::string_view::npos ? std::string{} : decodeComponent(pair.substr(eq + 1)));
  }
  return params;
}

struct Route {
  std::string method;
  std::regex pattern;
  Handler handler;
};

}  // namespace

// ---------------------------------------------------------------------------------------

std::string Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (sameName(key, name)) return value;
  }
  return {};
}

bool Request::hasParam(std::string_view name) const {
  return std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == name; });
}

std::string Request::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return {};
}

// ---------------------------------------------------------------------------------------

// One client connection, plain or TLS; the Responder's way back to it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  virtual ~Connection() = default;
  // From any thread: the answer to the request being handled.
  virtual void answer(Response response) = 0;
  // From any thread, when the server stops: a connection between requests closes now; one
  // whose request is being handled closes after its answer is written.
  virtual void shutdown() = 0;
};

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  ServerOptions options;
  net::io_context io{options.ioThreads};
  // Keeps run() serving while no socket operation is pending (a handler at work); released
  // when stop() has seen every answer out.
  std::optional<net::executor_work_guard<net::io_context::executor_type>> keepRunning{io.get_executor()};
  net::thread_pool workers{static_cast<std::size_t>(std::max(1, options.workers))};
  tcp::acceptor acceptor{net::make_strand(io)};
  std::unique_ptr<ssl::context> tls;
  std::vector<Route> routes;
  ErrorRenderer renderError;
  std::mutex mutex;
  std::map<std::string, int> perAddress;
  std::vector<std::function<void()>> stopCallbacks;
  // Open connections and pending timers, so that stop() can end them: nothing may stay queued
  // in the io_context once run() returns, since what is queued holds this Impl.
  std::unordered_map<Connection*, std::weak_ptr<Connection>> sessions;
  std::set<std::shared_ptr<net::steady_timer>> timers;
  std::condition_variable drained;  // with `mutex`: parked or timers went down
  std::atomic<bool> stopping{false};
  std::atomic<long> connections{0};
  std::atomic<long> parked{0};
  std::atomic<long> shutdownsPending{0};  // sessions stop() told to end that have not decided yet
  std::atomic<long> refused{0};
  std::vector<std::thread> ioThreads;

  explicit Impl(ServerOptions o) : options(std::move(o)) {
    renderError = [](int status, std::string_view code, std::string_view message) {
      Response r;
      r.status = status;
      r.body = "{\"error\":{\"code\":\"" + std::string(code) + "\",\"message\":\"" + std::string(message) + "\"}}";
      return r;
    };
  }

  // True when one more connection from `address` may stay.
  bool admit(const std::string& address) {
    std::lock_guard lock(mutex);
    if (connections.load() >= options.maxConnections) return false;
    int& count = perAddress[address];
    if (count >= options.maxConnectionsPerAddress) return false;
    ++count;
    ++connections;
    return true;
  }
  void release(const std::string& address, Connection* session) {
    std::lock_guard lock(mutex);
    auto it = perAddress.find(address);
    if (it != perAddress.end() && --it->second <= 0) perAddress.erase(it);
    sessions.erase(session);
    --connections;
  }
  void opened(const std::shared_ptr<Connection>& session) {
    std::lock_guard lock(mutex);
    sessions.emplace(session.get(), session);
  }
  void decided() {
    std::lock_guard lock(mutex);
    --shutdownsPending;
    drained.notify_all();
  }
  // A parked request was answered (or a refusal written).
  void answered() {
    std::lock_guard lock(mutex);
    --parked;
    drained.notify_all();
  }

  // Finds the route and runs its handler on a worker thread.
  void dispatch(Request request, Responder responder) {
    net::post(workers, [self = shared_from_this(), request = std::move(request),
                        responder = std::move(responder)]() mutable {
      for (const auto& route : self->routes) {
        std::smatch match;
        if (route.method != request.method || !std::regex_match(request.path, match, route.pattern)) continue;
        request.matches.assign(match.begin(), match.end());
        try {
          route.handler(request, std::move(responder));
        } catch (const std::exception& e) {
          // The text goes to the log only: it may hold what a client must not see.
          spdlog::error("{} {}: {}", request.method, request.path, e.what());
          if (!responder.answered()) responder(self->renderError(500, "INTERNAL", "internal error"));
        } catch (...) {
          spdlog::error("{} {}: an exception of unknown type", request.method, request.path);
          if (!responder.answered()) responder(self->renderError(500, "INTERNAL", "internal error"));
        }
        return;
      }
      responder(self->renderError(404, "NOT_FOUND", "no such endpoint or method"));
    });
  }

  void accept();
};

namespace {

// A connection over a stream: beast::tcp_stream, or beast::ssl_stream over one.
template <class Stream>
class Session final : public Connection {
 public:
  Session(std::shared_ptr<Server::Impl> server, Stream stream, std::string address)
      : m_server(std::move(server)), m_stream(std::move(stream)), m_address(std::move(address)) {}
  ~Session() override { m_server->release(m_address, this); }

  void start() {
    m_server->opened(shared_from_this());
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      readRequest();
    } else {
      beast::get_lowest_layer(m_stream).expires_after(m_server->options.requestDeadline);
      m_stream.async_handshake(ssl::stream_base::server,
                               [self = shared()](beast::error_code ec) {
                                 if (ec) return self->close();
                                 self->readRequest();
                               });
    }
  }

  void shutdown() override {
    net::dispatch(m_stream.get_executor(), [self = shared()] {
      // A request that has begun to arrive is read, handled and answered; a connection
      // waiting for its next request closes.
      if (!self->m_counted && !self->m_closed) {
        if (self->m_parser && self->m_parser->got_some()) {
          self->countIn();
        } else {
          self->close();
        }
      }
      self->m_server->decided();
    });
  }

  void answer(Response response) override {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      return answerAtOnce(std::move(response));
    }
    net::dispatch(m_stream.get_executor(), [self = shared(), response = std::move(response)]() mutable {
      self->write(std::move(response));
    });
  }

 private:
  std::shared_ptr<Session> shared() { return std::static_pointer_cast<Session>(shared_from_this()); }

  void readRequest() {
    if (m_server->stopping) return close();
    m_parser.emplace();
    m_parser->header_limit(static_cast<std::uint32_t>(m_server->options.maxHeader));
    m_parser->body_limit(m_server->options.maxBody);
    // From now the request has its deadline; between requests it counts as idle time too.
    beast::get_lowest_layer(m_stream).expires_after(m_server->options.requestDeadline);
    bhttp::async_read(m_stream, m_buffer, *m_parser,
                      [self = shared()](beast::error_code ec, std::size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted) {
      return close();
    }
    if (ec == beast::error::timeout) {
      spdlog::info("{}: request not complete by its deadline, connection dropped", m_address);
      return close();
    }
    if (ec == bhttp::error::body_limit) return refuse(413, "PAYLOAD_TOO_LARGE", "the body is larger than 1 MiB");
    if (ec == bhttp::error::header_limit) return refuse(431, "HEADERS_TOO_LARGE", "the headers are too large");
    if (ec) return refuse(400, "BAD_REQUEST", "the request does not parse as HTTP/1.1");
    auto message = m_parser->release();
    m_parser.reset();  // got_some() now speaks of the next request only
    if (message.target().size() > m_server->options.maxTarget) {
      return refuse(414, "URI_TOO_LONG", "the request target is too long");
    }
    // A body with neither a length nor chunked encoding would run to the end of the
    // connection: refused before any of it is read.
    const auto method = message.method();
    if ((method == bhttp::verb::post || method == bhttp::verb::put || method == bhttp::verb::patch) &&
        !message.has_content_length() && !message.chunked()) {
      return refuse(411, "LENGTH_REQUIRED", "a body needs Content-Length or chunked encoding");
    }
    m_keepAlive = message.keep_alive() && !m_server->stopping;
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    const auto question = request.target.find('?');
    request.path = request.target.substr(0, question);
    if (question != std::string::npos) request.params = parseQuery(std::string_view(request.target).substr(question + 1));
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    // A form's fields are parameters too, after the query's.
    if (request.header("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0) {
      auto fields = parseQuery(request.body);
      request.params.insert(request.params.end(), fields.begin(), fields.end());
    }
    request.remoteIp = m_address;
    // No deadline while the handler works or the answer is parked.
    beast::get_lowest_layer(m_stream).expires_never();
    countIn();
    m_server->dispatch(std::move(request), Responder(shared_from_this()));
  }

  void refuse(int status, std::string_view code, std::string_view message) {
    m_keepAlive = false;
    m_linger = true;
    countIn();  // write() counts it out
    write(m_server->renderError(status, code, message));
  }

  // Once the server is stopping, every answer closes its connection.
  std::shared_ptr<bhttp::response<bhttp::string_body>> message(Response response) {
    if (m_server->stopping) m_keepAlive = false;
    auto out = std::make_shared<bhttp::response<bhttp::string_body>>();
    out->version(11);
    out->result(static_cast<unsigned>(response.status));
    out->set(bhttp::field::content_type, response.contentType);
    for (auto& [name, value] : response.headers) out->insert(name, value);
    out->body() = std::move(response.body);
    out->keep_alive(m_keepAlive);
    out->prepare_payload();
    return out;
  }

  void write(Response response) {
    countOut();
    auto out = message(std::move(response));
    beast::get_lowest_layer(m_stream).expires_after(m_server->options.writeTimeout);
    bhttp::async_write(m_stream, *out, [self = shared(), out](beast::error_code ec, std::size_t) {
      self->afterWrite(ec);
    });
  }

  // A plain connection's answer leaves from the handler's thread at once: the connection is
  // quiet while its request is handled (no read is pending and its timer is off), so the
  // socket is this thread's alone until the rest is posted to the connection's strand. What
  // the socket does not take now (a large answer, a slow reader) is written from the strand
  // as usual. This saves the answer a hand-over to an I/O thread.
  void answerAtOnce(Response response) {
    auto out = message(std::move(response));
    std::ostringstream text;
    text << *out;
    auto bytes = std::make_shared<std::string>(std::move(text).str());
    std::size_t sent = 0;
    const int fd = beast::get_lowest_layer(m_stream).socket().native_handle();
    while (sent < bytes->size()) {
      const ssize_t n = ::send(fd, bytes->data() + sent, bytes->size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        break;  // full (EAGAIN) or failed: the strand writes the rest, or meets the error
      }
    }
    // Counted out on the strand: stop() keeps the I/O threads running until this has run.
    net::post(m_stream.get_executor(), [self = shared(), bytes, sent] {
      self->countOut();
      if (sent == bytes->size()) return self->afterWrite({});
      beast::get_lowest_layer(self->m_stream).expires_after(self->m_server->options.writeTimeout);
      net::async_write(self->m_stream, net::buffer(bytes->data() + sent, bytes->size() - sent),
                       [self, bytes](beast::error_code ec, std::size_t) { self->afterWrite(ec); });
    });
  }

  void afterWrite(beast::error_code ec) {
    if (!ec && m_linger) return linger();
    if (ec || !m_keepAlive) return close();
    readRequest();
  }

  // After a refusal the client may still be sending what was refused: closing now would reset
  // the connection and could destroy the answer before it is read. The sending side closes,
  // and what still arrives is read and dropped for a moment (at most kLingerBytes), as web
  // servers do; then the connection closes.
  static constexpr std::size_t kLingerBytes = 4 * 1024 * 1024;
  void linger() {
    beast::error_code ignored;
    beast::get_lowest_layer(m_stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
    beast::get_lowest_layer(m_stream).expires_after(std::chrono::seconds(2));
    drain();
  }
  void drain() {
    beast::get_lowest_layer(m_stream).async_read_some(
        net::buffer(m_drain), [self = shared()](beast::error_code ec, std::size_t n) {
          self->m_drained += n;
          if (ec || self->m_drained > kLingerBytes) return self->close();
          self->drain();
        });
  }

  void close() {
    countOut();
    m_closed = true;
    beast::error_code ignored;
    beast::get_lowest_layer(m_stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(m_stream).close();
  }

  std::shared_ptr<Server::Impl> m_server;
  // The request on this connection counts among those stop() waits for: taken by a handler,
  // being refused, or (once stopping) begun.
  bool m_counted = false;
  bool m_closed = false;
  void countIn() {
    if (m_counted) return;
    m_counted = true;
    ++m_server->parked;
  }
  void countOut() {
    if (!m_counted) return;
    m_counted = false;
    m_server->answered();
  }
  Stream m_stream;
  std::string m_address;
  beast::flat_buffer m_buffer;
  boost::optional<bhttp::request_parser<bhttp::string_body>> m_parser;
  bool m_keepAlive = false;
  bool m_linger = false;
  std::array<char, 16 * 1024> m_drain{};
  std::size_t m_drained = 0;
};

}  // namespace

void Server::Impl::accept() {
  acceptor.async_accept(net::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!self->stopping) self->accept();
      return;
    }
    beast::error_code ignored;
    const std::string address = socket.remote_endpoint(ignored).address().to_string();
    if (!self->admit(address)) {
      ++self->refused;
      socket.close(ignored);
    } else {
      socket.set_option(tcp::no_delay(true), ignored);
      if (self->tls) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
            self, beast::ssl_stream<beast::tcp_stream>(std::move(socket), *self->tls), address)
            ->start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(self, beast::tcp_stream(std::move(socket)), address)->start();
      }
    }
    self->accept();
  });
}

// ---------------------------------------------------------------------------------------

Responder::Responder(std::shared_ptr<Connection> connection) : m_connection(std::move(connection)) {}

Responder::~Responder() {
  if (m_connection) {
    Response lost;
    lost.status = 500;
    lost.body = R"({"error":{"code":"INTERNAL","message":"the request was not answered"}})";
    m_connection->answer(std::move(lost));
  }
}

Responder::Responder(Responder&& other) noexcept : m_connection(std::move(other.m_connection)) {}

Responder& Responder::operator=(Responder&& other) noexcept {
  m_connection = std::move(other.m_connection);
  return *this;
}

void Responder::operator()(Response response) {
  if (!m_connection) return;
  auto connection = std::move(m_connection);
  connection->answer(std::move(response));
}

// ---------------------------------------------------------------------------------------

Server::Server(ServerOptions options) : m_impl(std::make_shared<Impl>(std::move(options))) {
  auto& impl = *m_impl;
  if (!impl.options.certFile.empty() || !impl.options.keyFile.empty()) {
    impl.tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    impl.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    impl.tls->use_certificate_chain_file(impl.options.certFile, ec);
    if (!ec) impl.tls->use_private_key_file(impl.options.keyFile, ssl::context::pem, ec);
    if (ec) throw std::runtime_error("cannot load the TLS certificate or key: " + ec.message());
  }
}

Server::~Server() {
  stop();
}

void Server::route(std::string method, const std::string& pattern, Handler handler) {
  m_impl->routes.push_back({std::move(method), std::regex(pattern), std::move(handler)});
}

void Server::setErrorRenderer(ErrorRenderer renderer) { m_impl->renderError = std::move(renderer); }

int Server::bind() {
  auto& impl = *m_impl;
  boost::system::error_code ec;
  tcp::resolver resolver(impl.io);
  const auto found = resolver.resolve(impl.options.host, std::to_string(impl.options.port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || found.empty()) {
    throw std::runtime_error("cannot listen on " + impl.options.host + ": " + (ec ? ec.message() : "no address"));
  }
  const tcp::endpoint endpoint = found.begin()->endpoint();
  const auto fail = [&](const char* what) {
    throw std::runtime_error("cannot listen on " + impl.options.host + ":" + std::to_string(impl.options.port) +
                             ": " + what + ": " + ec.message());
  };
  impl.acceptor.open(endpoint.protocol(), ec);
  if (ec) fail("socket");
  // SO_REUSEADDR only: a restart binds over connections lingering in TIME_WAIT, but a second
  // service on a port in use fails here.
  impl.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  impl.acceptor.bind(endpoint, ec);
  if (ec) fail("bind");
  impl.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail("listen");
  return impl.acceptor.local_endpoint().port();
}

void Server::run() {
  auto& impl = *m_impl;
  impl.accept();
  for (int i = 1; i < impl.options.ioThreads; ++i) impl.ioThreads.emplace_back([&impl] { impl.io.run(); });
  impl.io.run();
  for (auto& t : impl.ioThreads) t.join();
  impl.ioThreads.clear();
}

void Server::stop() {
  auto& impl = *m_impl;
  if (impl.stopping.exchange(true)) return;
  std::vector<std::function<void()>> callbacks;
  std::vector<std::shared_ptr<Connection>> open;
  std::vector<std::shared_ptr<net::steady_timer>> pending;
  {
    std::lock_guard lock(impl.mutex);
    callbacks.swap(impl.stopCallbacks);
    for (auto& [raw, session] : impl.sessions) {
      if (auto alive = session.lock()) open.push_back(std::move(alive));
    }
    pending.assign(impl.timers.begin(), impl.timers.end());
  }
  net::post(impl.acceptor.get_executor(), [self = m_impl] {
    beast::error_code ignored;
    self->acceptor.close(ignored);
  });
  // Owners of parked answers answer them; timers fire now; idle connections close.
  for (auto& callback : callbacks) callback();
  for (auto& timer : pending) net::post(timer->get_executor(), [timer] { timer->cancel(); });
  impl.shutdownsPending += static_cast<long>(open.size());
  for (auto& session : open) session->shutdown();
  open.clear();
  // Every request taken is answered before run() returns (bounded: a handler that never
  // answers must not hold the service up for ever).
  {
    std::unique_lock lock(impl.mutex);
    const bool done = impl.drained.wait_for(lock, impl.options.stopDeadline,
                                            [&] {
      return impl.parked.load() == 0 && impl.shutdownsPending.load() == 0 && impl.timers.empty();
    });
    if (!done) {
      spdlog::warn("{} requests still unanswered {} ms after stop; closing regardless", impl.parked.load(),
                   impl.options.stopDeadline.count());
    }
  }
  impl.workers.join();
  // With no request left, run() returns once the last answer is written and every connection
  // is closed; after the deadline it returns at once.
  impl.keepRunning.reset();
  if (impl.parked.load() != 0) impl.io.stop();
}

void Server::onStop(std::function<void()> callback) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->stopCallbacks.push_back(std::move(callback));
}

void Server::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto& impl = *m_impl;
  auto timer = std::make_shared<net::steady_timer>(net::make_strand(impl.io), delay);
  {
    std::lock_guard lock(impl.mutex);
    if (!impl.stopping) impl.timers.insert(timer);
  }
  if (impl.stopping) {
    net::post(impl.workers, std::move(fn));
    return;
  }
  // The wait begins on the timer's strand, so a cancel from stop() (posted to the same strand
  // later) always finds it.
  net::post(timer->get_executor(), [timer, self = m_impl, fn = std::move(fn)]() mutable {
    timer->async_wait([timer, self, fn = std::move(fn)](beast::error_code) mutable {
      net::post(self->workers, std::move(fn));
      std::lock_guard lock(self->mutex);
      self->timers.erase(timer);
      self->drained.notify_all();
    });
  });
}

Server::Stats Server::stats() const {
  return {m_impl->connections.load(), m_impl->parked.load(), m_impl->refused.load()};
}

}  // namespace kiosk::cloud::http
