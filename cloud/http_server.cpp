#include "cloud/http_server.hpp"

#include "cloud/error.hpp"
#include "cloud/text.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
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

// One accepted connection. Reads are buffered; writes collect until the response is complete
// (or large) and leave in one send, so a reply is one packet and one wake-up for the client.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(int sock, int readTimeoutMs, int writeTimeoutMs)
      : m_sock(sock), m_readTimeoutMs(readTimeoutMs), m_writeTimeoutMs(writeTimeoutMs) {
    endpoint(sock, true, m_remoteIp, m_remotePort);
    endpoint(sock, false, m_localIp, m_localPort);
  }

  bool is_readable() const override {
    return m_inPos < m_inEnd || waitFor(m_sock, POLLIN, m_readTimeoutMs);
  }
  bool is_writable() const override { return waitFor(m_sock, POLLOUT, m_writeTimeoutMs); }

  ssize_t read(char* ptr, size_t size) override {
    // Whatever was written so far (an interim "100 Continue") must reach the client before
    // waiting for what it sends next.
    if (!flush()) return -1;
    if (m_inPos == m_inEnd) {
      const bool direct = size >= sizeof m_in;
      const ssize_t got = receive(direct ? ptr : m_in, direct ? size : sizeof m_in);
      if (got <= 0 || direct) return got;
      m_inPos = 0;
      m_inEnd = static_cast<std::size_t>(got);
    }
    const std::size_t n = std::min(size, m_inEnd - m_inPos);
    std::memcpy(ptr, m_in + m_inPos, n);
    m_inPos += n;
    return static_cast<ssize_t>(n);
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

  bool hasBufferedInput() const { return m_inPos < m_inEnd; }

  bool flush() {
    std::size_t sent = 0;
    while (sent < m_out.size()) {
      const ssize_t n = ::send(m_sock, m_out.data() + sent, m_out.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
          waitFor(m_sock, POLLOUT, m_writeTimeoutMs)) {
        continue;
      }
      m_out.clear();
      return false;
    }
    m_out.clear();
    return true;
  }

 private:
  static constexpr std::size_t kFlushAt = 64 * 1024;

  // Usually the data is already there (the connection was woken because it arrived): try
  // first, wait only when there is nothing yet.
  ssize_t receive(char* ptr, std::size_t size) {
    for (;;) {
      const ssize_t n = ::recv(m_sock, ptr, size, MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return n;
      if (!waitFor(m_sock, POLLIN, m_readTimeoutMs)) return -1;
    }
  }

  int m_sock;
  int m_readTimeoutMs;
  int m_writeTimeoutMs;
  char m_in[4096];
  std::size_t m_inPos = 0;
  std::size_t m_inEnd = 0;
  std::string m_out;
  std::string m_remoteIp;
  int m_remotePort = 0;
  std::string m_localIp;
  int m_localPort = 0;
};

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
    spdlog::error("{} {}: exception: {}", req.method, forLog(req.path), forLog(what));
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

KeepAliveServer::~KeepAliveServer() { ::close(m_wakeFd); }

void KeepAliveServer::wakeIdleConnections() {
  const std::uint64_t one = 1;
  // Never read back: the eventfd stays readable, so every later wait ends at once too.
  if (::write(m_wakeFd, &one, sizeof one) < 0) return;
}

bool KeepAliveServer::process_and_close_socket(socket_t sock) {
  ConnectionStream stream(sock, toMilliseconds(read_timeout_sec_, read_timeout_usec_),
                          toMilliseconds(write_timeout_sec_, write_timeout_usec_));
  const int idleMs = toMilliseconds(keep_alive_timeout_sec_, 0);
  bool ret = false;
  for (std::size_t left = keep_alive_max_count_; left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
    if (!stream.hasBufferedInput()) {
      // Sleep until the next request, the client going away, the idle limit or shutdown.
      pollfd waits[2] = {{sock, POLLIN, 0}, {m_wakeFd, POLLIN, 0}};
      int ready = 0;
      do {
        ready = ::poll(waits, 2, idleMs);
      } while (ready < 0 && errno == EINTR);
      if (ready <= 0 || (waits[1].revents & POLLIN) != 0) break;
    }
    bool closed = false;
    ret = process_request(stream, left == 1, closed, nullptr);
    if (!stream.flush()) ret = false;
    if (!ret || closed) break;
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ret;
}

}  // namespace kiosk::cloud
