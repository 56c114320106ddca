#include "cloud/server_impl.hpp"

#include <stdexcept>

namespace kiosk::cloud {

void Server::Impl::sendJson(http::Response& res, int status, const json& body) {
  res.status = status;
  // Answers are built from checked input, but a stray invalid byte must not turn a reply
  // into an exception: it is written as U+FFFD.
  res.setContent(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void Server::Impl::sendError(http::Response& res, const Failure& failure) {
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
  page("GET", "/healthz", [this](const http::Request&, http::Response& res) {
    auto lease = store.database().acquire();
    auto ping = lease->exec("SELECT 1");
    if (!ping) {
      sendJson(res, 503, {{"status", "unavailable"}, {"database", ping.error().message}});
      return;
    }
    sendJson(res, 200, {{"status", "ok"}});
  });
  page("GET", "/metrics", [this](const http::Request&, http::Response& res) {
    const auto stats = http->stats();
    std::string text = metrics.render();
    text += "# HELP kiosk_cloud_connections_open Client connections open now.\n"
            "# TYPE kiosk_cloud_connections_open gauge\n"
            "kiosk_cloud_connections_open " + std::to_string(stats.connections) + "\n"
            "# HELP kiosk_cloud_connections_refused_total Connections closed on arrival: their address, or the "
            "service, had as many open as allowed.\n"
            "# TYPE kiosk_cloud_connections_refused_total counter\n"
            "kiosk_cloud_connections_refused_total " + std::to_string(stats.refusedAtAccept) + "\n";
    res.setContent(text, "text/plain; version=0.0.4");
  });

  registerKioskRoutes();
  registerProviderRoutes();
  registerOperatorRoutes();
}

Server::Server(const ServerConfig& config, Store& store, CardFormat* format,
               PaymentProvider& provider, const platform::Clock& clock)
    : m_impl(std::make_unique<Impl>(config, store, format, provider, clock)) {
  auto& impl = *m_impl;
  if (config.tlsCert.empty() && !isLoopback(config.listen)) {
    throw std::runtime_error("refusing plain HTTP on " + config.listen +
                             ": give tls_cert and tls_key, or listen on 127.0.0.1");
  }
  http::ServerOptions options;
  options.host = config.listen;
  options.port = config.port;
  options.certFile = config.tlsCert;
  options.keyFile = config.tlsKey;
  options.workers = config.threads;
  options.maxBody = 1024 * 1024;
  options.requestDeadline = std::chrono::seconds(config.requestReadTimeoutSeconds);
  options.idleTimeout = std::chrono::seconds(config.requestReadTimeoutSeconds);
  options.maxConnectionsPerAddress = config.maxConnectionsPerAddress;
  options.maxConnections = config.maxConnections;
  impl.http = std::make_unique<http::Server>(options);
  // The layer's own answers carry the API's codes (NOT_FOUND, PAYLOAD_TOO_LARGE, ...).
  impl.http->setErrorRenderer([](int status, std::string_view, std::string_view) {
    const Failure failure = httpLayerFailure(status);
    http::Response res;
    Impl::sendJson(res, status, {{"error", {{"code", errorCode(failure.error)}, {"message", failure.message}}}});
    return res;
  });
  impl.registerRoutes();
  // A stopping service answers its parked polls at once, with the order as it is.
  impl.http->onStop([waiters = impl.waiters] { waiters->wakeAll(); });
  store.database().listen(Store::kOrderChannel, [waiters = impl.waiters](const std::string& orderId) {
    waiters->changed(orderId);
  });
}


Server::~Server() {
  stop();
  if (m_impl->sweeper.joinable()) m_impl->sweeper.join();
}

int Server::bind() {
  auto& impl = *m_impl;
  impl.port = impl.http->bind();
  return impl.port;
}

void Server::run() {
  auto& impl = *m_impl;
  impl.sweeper = std::thread([&impl] { impl.sweepLoop(); });
  impl.http->run();
}

void Server::stop() {
  m_impl->stopping = true;
  m_impl->wakeSweeper();
  if (m_impl->http) m_impl->http->stop();
}

}  // namespace kiosk::cloud
