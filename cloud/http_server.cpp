#include "cloud/http_server.hpp"

#include "cloud/error.hpp"
#include "protocol/text.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

namespace kiosk::cloud {
namespace {

int toMilliseconds(time_t sec, time_t usec) {
  return static_cast<int>(sec * 1000 + usec / 1000);
}

// Waits until `fd` is ready for `events`; false on timeout or error.
bool waitFor(int fd, short events, int timeoutMs) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int ready = ::poll(&p, 1, timeoutMs);
    if (ready < 0 && errno == EINTR) continue;
    return ready > 0;
  }
}

void endpoint(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  auto* raw = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? ::getpeername(fd, raw, &length) : ::getsockname(fd, raw, &length)) != 0) return;
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  if (::getnameinfo(raw, length, host, sizeof host, service, sizeof service,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(service);
  }
}

// One accepted connection, plain or TLS. Reads are buffered; writes collect until the response
// is complete (or large) and leave in one send, so a reply is one packet and one wake-up for
// the client. While a request is being read, every wait ends at its deadline.
class ConnectionStream final : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;

  ConnectionStream(int sock, int readTimeoutMs, int writeTimeoutMs)
      : m_sock(sock), m_readTimeoutMs(readTimeoutMs), m_writeTimeoutMs(writeTimeoutMs) {
    endpoint(sock, true, m_remoteIp, m_remotePort);
    endpoint(sock, false, m_localIp, m_localPort);
  }

  // TLS from here on: the handshake, by `deadline`. The socket must be non-blocking.
  bool acceptTls(SSL* ssl, Clock::time_point deadline) {
    m_ssl = ssl;
    m_deadline = deadline;
    bool done = false;
    for (;;) {
      const int rc = SSL_accept(m_ssl);
      if (rc == 1) {
        done = true;
        break;
      }
      const short events = wantedEvents(SSL_get_error(m_ssl, rc));
      if (events == 0 || !waitForPeer(events)) break;
    }
    m_deadline.reset();
    return done;
  }

  // The time by which the request being read must have arrived whole; none between requests.
  // Setting one starts a request: its request line and headers are screened (screenHeaders).
  void setDeadline(std::optional<Clock::time_point> deadline) {
    m_deadline = deadline;
    if (deadline) {
      m_inHeaders = true;
      m_headerTail = 0;
    }
  }
  bool deadlinePassed() const { return m_deadlinePassed; }
  const std::string& remoteIp() const { return m_remoteIp; }

  bool is_readable() const override {
    if (hasBufferedInput()) return true;
    const int wait = readWaitMs();
    return wait >= 0 && waitFor(m_sock, POLLIN, wait);
  }
  bool is_writable() const override { return waitFor(m_sock, POLLOUT, m_writeTimeoutMs); }

  ssize_t read(char* ptr, size_t size) override {
    // Whatever was written so far (an interim "100 Continue") must reach the client before
    // waiting for what it sends next.
    if (!flush()) return -1;
    if (m_inPos == m_inEnd) {
      const bool direct = size >= sizeof m_in;
      const ssize_t got = receive(direct ? ptr : m_in, direct ? size : sizeof m_in);
      if (got <= 0) return got;
      if (direct) return screenHeaders(ptr, static_cast<std::size_t>(got)) ? got : -1;
      m_inPos = 0;
      m_inEnd = static_cast<std::size_t>(got);
    }
    const std::size_t n = std::min(size, m_inEnd - m_inPos);
    std::memcpy(ptr, m_in + m_inPos, n);
    m_inPos += n;
    return screenHeaders(ptr, n) ? static_cast<ssize_t>(n) : -1;
  }

  // A NUL in the request line or a header: httplib cuts the value there, so the service would
  // act on another value than the client sent ("kiosk-demo\0evil" read as "kiosk-demo"). The
  // request is read no further and the connection closes.
  bool screenHeaders(const char* bytes, std::size_t n) {
    for (std::size_t i = 0; i < n && m_inHeaders; ++i) {
      if (bytes[i] == '\0') {
        spdlog::info("{}: a NUL byte in the request's headers, connection dropped", m_remoteIp);
        return false;
      }
      m_headerTail = (m_headerTail << 8U) | static_cast<unsigned char>(bytes[i]);
      if (m_headerTail == 0x0D0A0D0AU) m_inHeaders = false;  // the blank line after the headers
    }
    return true;
  }

  ssize_t write(const char* ptr, size_t size) override {
    m_out.append(ptr, size);
    if (m_out.size() >= kFlushAt && !flush()) return -1;
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = m_remoteIp;
    port = m_remotePort;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = m_localIp;
    port = m_localPort;
  }
  socket_t socket() const override { return m_sock; }

  bool hasBufferedInput() const {
    return m_inPos < m_inEnd || (m_ssl != nullptr && SSL_has_pending(m_ssl) == 1);
  }

  bool flush() {
    std::size_t sent = 0;
    bool ok = true;
    while (ok && sent < m_out.size()) {
      const std::size_t left = m_out.size() - sent;
      short events = 0;
      if (m_ssl != nullptr) {
        const int n = SSL_write(m_ssl, m_out.data() + sent, static_cast<int>(std::min<std::size_t>(left, 1U << 30U)));
        if (n > 0) {
          sent += static_cast<std::size_t>(n);
          continue;
        }
        events = wantedEvents(SSL_get_error(m_ssl, n));
      } else {
        const ssize_t n = ::send(m_sock, m_out.data() + sent, left, MSG_NOSIGNAL);
        if (n > 0) {
          sent += static_cast<std::size_t>(n);
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) events = POLLOUT;
      }
      ok = events != 0 && waitFor(m_sock, events, m_writeTimeoutMs);
    }
    m_out.clear();
    return ok;
  }

 private:
  static constexpr std::size_t kFlushAt = 64 * 1024;

  static short wantedEvents(int sslError) {
    if (sslError == SSL_ERROR_WANT_READ) return POLLIN;
    if (sslError == SSL_ERROR_WANT_WRITE) return POLLOUT;
    return 0;
  }

  // How long a read may wait now: the read timeout, or less when the request's deadline comes
  // first; -1 once the deadline has passed.
  int readWaitMs() const {
    if (!m_deadline) return m_readTimeoutMs;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(*m_deadline - Clock::now()).count();
    if (left <= 0) return -1;
    return static_cast<int>(std::min<long long>(left, m_readTimeoutMs));
  }

  // Waits for the client; false on timeout, error or the request's deadline.
  bool waitForPeer(short events) {
    const int wait = readWaitMs();
    if (wait >= 0 && waitFor(m_sock, events, wait)) return true;
    if (m_deadline && Clock::now() >= *m_deadline) m_deadlinePassed = true;
    return false;
  }

  // Usually the data is already there (the connection was woken because it arrived): try
  // first, wait only when there is nothing yet.
  ssize_t receive(char* ptr, std::size_t size) {
    for (;;) {
      short events = POLLIN;
      if (m_ssl != nullptr) {
        const int n = SSL_read(m_ssl, ptr, static_cast<int>(std::min<std::size_t>(size, 1U << 30U)));
        if (n > 0) return n;
        const int error = SSL_get_error(m_ssl, n);
        if (error == SSL_ERROR_ZERO_RETURN) return 0;
        events = wantedEvents(error);
        if (events == 0) return -1;
      } else {
        const ssize_t n = ::recv(m_sock, ptr, size, MSG_DONTWAIT);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return n;
      }
      if (!waitForPeer(events)) return -1;
    }
  }

  int m_sock;
  SSL* m_ssl = nullptr;
  int m_readTimeoutMs;
  int m_writeTimeoutMs;
  std::optional<Clock::time_point> m_deadline;
  bool m_deadlinePassed = false;
  char m_in[4096];
  std::size_t m_inPos = 0;
  std::size_t m_inEnd = 0;
  bool m_inHeaders = false;        // reading a request line and headers
  std::uint32_t m_headerTail = 0;  // their last four bytes
  std::string m_out;
  std::string m_remoteIp;
  int m_remotePort = 0;
  std::string m_localIp;
  int m_localPort = 0;
};

std::string openSslError() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

}  // namespace

void installErrorReplies(httplib::Server& server) {
  auto reply = [](httplib::Response& res, const Failure& failure) {
    const nlohmann::json body{{"error", {{"code", errorCode(failure.error)}, {"message", failure.message}}}};
    res.set_content(body.dump(), "application/json");
  };
  server.set_exception_handler([reply](const httplib::Request& req, httplib::Response& res,
                                       std::exception_ptr thrown) {
    std::string what = "not a std::exception";
    try {
      std::rethrow_exception(thrown);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("{} {}: exception: {}", req.method, protocol::forLog(req.path), protocol::forLog(what));
    res.status = 500;
    res.headers.erase("EXCEPTION_WHAT");
    reply(res, httpLayerFailure(500));
  });
  const httplib::Server::HandlerWithResponse onError = [reply](const httplib::Request&,
                                                               httplib::Response& res) {
    res.headers.erase("EXCEPTION_WHAT");
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    reply(res, httpLayerFailure(res.status));
    return httplib::Server::HandlerResponse::Handled;
  };
  server.set_error_handler(onError);
}

KeepAliveServer::KeepAliveServer() : m_wakeFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (m_wakeFd < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

KeepAliveServer::KeepAliveServer(const std::string& certFile, const std::string& keyFile)
    : KeepAliveServer() {
  m_tls = SSL_CTX_new(TLS_server_method());
  if (m_tls == nullptr) throw std::runtime_error("cannot set up TLS: " + openSslError());
  SSL_CTX_set_min_proto_version(m_tls, TLS1_2_VERSION);
  SSL_CTX_set_options(m_tls, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(m_tls, certFile.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(m_tls, keyFile.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(m_tls) != 1) {
    const std::string why = openSslError();
    SSL_CTX_free(m_tls);
    m_tls = nullptr;
    ::close(m_wakeFd);
    throw std::runtime_error("cannot load TLS certificate " + certFile + " / key " + keyFile + ": " + why);
  }
}

KeepAliveServer::~KeepAliveServer() {
  if (m_tls != nullptr) SSL_CTX_free(m_tls);
  ::close(m_wakeFd);
}

void KeepAliveServer::wakeIdleConnections() {
  const std::uint64_t one = 1;
  // Never read back: the eventfd stays readable, so every later wait ends at once too.
  if (::write(m_wakeFd, &one, sizeof one) < 0) return;
}

bool KeepAliveServer::process_and_close_socket(socket_t sock) {
  ConnectionStream stream(sock, toMilliseconds(read_timeout_sec_, read_timeout_usec_),
                          toMilliseconds(write_timeout_sec_, write_timeout_usec_));
  const auto deadline = [this] { return ConnectionStream::Clock::now() + m_requestReadTimeout; };
  const int idleMs = toMilliseconds(keep_alive_timeout_sec_, 0);
  SSL* ssl = nullptr;
  bool ret = false;
  bool open = true;
  if (m_tls != nullptr) {
    ssl = SSL_new(m_tls);
    const int flags = ::fcntl(sock, F_GETFL);
    open = ssl != nullptr && flags >= 0 && ::fcntl(sock, F_SETFL, flags | O_NONBLOCK) == 0 &&
           SSL_set_fd(ssl, sock) == 1 && stream.acceptTls(ssl, deadline());
  }
  for (std::size_t left = keep_alive_max_count_; open && left > 0 && svr_sock_ != INVALID_SOCKET;
       --left) {
    if (!stream.hasBufferedInput()) {
      // Sleep until the next request, the client going away, the idle limit or shutdown.
      pollfd waits[2] = {{sock, POLLIN, 0}, {m_wakeFd, POLLIN, 0}};
      int ready = 0;
      do {
        ready = ::poll(waits, 2, idleMs);
      } while (ready < 0 && errno == EINTR);
      if (ready <= 0 || (waits[1].revents & POLLIN) != 0) break;
    }
    // From its first byte, the request has until its deadline to arrive whole.
    bool closed = false;
    stream.setDeadline(deadline());
    ret = process_request(stream, left == 1, closed, nullptr);
    stream.setDeadline(std::nullopt);
    if (!stream.flush()) ret = false;
    if (!ret || closed || stream.deadlinePassed()) break;
  }
  if (stream.deadlinePassed()) {
    spdlog::info("{}: request not complete after {} ms, connection dropped", stream.remoteIp(),
                 m_requestReadTimeout.count());
  }
  if (ssl != nullptr) {
    if (ret) (void)SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ret;
}

}  // namespace kiosk::cloud
