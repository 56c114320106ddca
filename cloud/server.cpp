#include "cloud/server_impl.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace kiosk::cloud {

void Server::Impl::sendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // Answers are built from checked input, but a stray invalid byte must not turn a reply
  // into an exception: it is written as U+FFFD.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void Server::Impl::sendError(httplib::Response& res, const Failure& failure) {
  sendJson(res, httpStatus(failure.error),
           {{"error", {{"code", errorCode(failure.error)}, {"message", failure.message}}}});
}

std::string Server::Impl::publicBase() const {
  if (!cfg.publicUrl.empty()) {
    std::string base = cfg.publicUrl;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base;
  }
  const std::string host = cfg.listen == "0.0.0.0" ? "127.0.0.1"
                           : cfg.listen.find(':') != std::string::npos ? "[" + cfg.listen + "]"
                                                                       : cfg.listen;
  return (cfg.tlsCert.empty() ? "http://" : "https://") + host + ":" + std::to_string(port);
}

void Server::Impl::registerRoutes() {
  http->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    auto lease = store.database().acquire();
    auto ping = lease->exec("SELECT 1");
    if (!ping) {
      sendJson(res, 503, {{"status", "unavailable"}, {"database", ping.error().message}});
      return;
    }
    sendJson(res, 200, {{"status", "ok"}});
  });
  http->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(), "text/plain; version=0.0.4");
  });

  registerKioskRoutes();
  registerProviderRoutes();
  registerOperatorRoutes();
  installErrorReplies(*http);
}

Server::Server(const ServerConfig& config, Store& store, CardFormat* format,
               PaymentProvider& provider, const platform::Clock& clock)
    : m_impl(std::make_unique<Impl>(config, store, format, provider, clock)) {
  auto& impl = *m_impl;
  if (!config.tlsCert.empty()) {
    impl.http = std::make_unique<KeepAliveServer>(config.tlsCert, config.tlsKey);
  } else {
    if (!isLoopback(config.listen)) {
      throw std::runtime_error("refusing plain HTTP on " + config.listen +
                               ": give tls_cert and tls_key, or listen on 127.0.0.1");
    }
    impl.http = std::make_unique<KeepAliveServer>();
  }
  const int threads = config.threads;
  impl.http->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<std::size_t>(threads));
  };
  impl.http->set_tcp_nodelay(true);
  // httplib listens with a backlog of 5: when many kiosks connect at once (a restart, a
  // network coming back) the rest of their SYNs are dropped and retried a second or more
  // later. Remember the listening socket to give it a real backlog once it is bound.
  // SO_REUSEADDR only: a restart binds while old connections linger in TIME_WAIT, but a
  // second service on a port in use fails to start. httplib's default adds SO_REUSEPORT, with
  // which the kernel would split the kiosks' requests between the two services.
  impl.http->set_socket_options([&impl](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    impl.listenSocket = sock;
  });
  impl.http->set_payload_max_length(1024 * 1024);
  impl.http->set_keep_alive_max_count(100000);
  impl.http->set_read_timeout(std::chrono::seconds(10));
  impl.http->set_write_timeout(std::chrono::seconds(10));
  impl.http->setRequestReadTimeout(std::chrono::seconds(config.requestReadTimeoutSeconds));
  impl.registerRoutes();
  store.database().listen(Store::kOrderChannel, [waiters = impl.waiters](const std::string& orderId) {
    waiters->changed(orderId);
  });
}

namespace {

// Why binding failed ("Address already in use"), found by trying it again: httplib reports
// only that it did.
std::string bindProblem(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return ::gai_strerror(rc);
  }
  std::string problem = "no address to bind";
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) {
      problem = std::strerror(errno);
      continue;
    }
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    problem = ::bind(fd, a->ai_addr, a->ai_addrlen) == 0 ? "the address was taken meanwhile" : std::strerror(errno);
    ::close(fd);
    break;
  }
  ::freeaddrinfo(found);
  return problem;
}

}  // namespace

Server::~Server() {
  stop();
  if (m_impl->sweeper.joinable()) m_impl->sweeper.join();
}

int Server::bind() {
  auto& impl = *m_impl;
  if (impl.cfg.port == 0) {
    impl.port = impl.http->bind_to_any_port(impl.cfg.listen);
  } else {
    impl.port = impl.http->bind_to_port(impl.cfg.listen, impl.cfg.port) ? impl.cfg.port : -1;
  }
  if (impl.port <= 0) {
    throw std::runtime_error("cannot listen on " + impl.cfg.listen + ":" +
                             std::to_string(impl.cfg.port) + ": " +
                             bindProblem(impl.cfg.listen, impl.cfg.port));
  }
  // Listening again on a listening socket only changes its backlog (capped by somaxconn).
  if (impl.listenSocket >= 0 && ::listen(impl.listenSocket, SOMAXCONN) != 0) {
    spdlog::warn("cannot raise the listen backlog: {}", std::strerror(errno));
  }
  return impl.port;
}

void Server::run() {
  auto& impl = *m_impl;
  impl.sweeper = std::thread([&impl] { impl.sweepLoop(); });
  impl.http->listen_after_bind();
}

void Server::stop() {
  m_impl->stopping = true;
  m_impl->wakeSweeper();
  if (m_impl->http) m_impl->http->wakeIdleConnections();
  if (m_impl->http) m_impl->http->stop();
}

}  // namespace kiosk::cloud
