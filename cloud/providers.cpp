#include "cloud/providers.hpp"

#include "protocol/signing.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>

namespace kiosk::cloud {
namespace {

constexpr std::int64_t kWebhookSkew = 300;

}  // namespace

// The provider's notifier: a few threads sending webhooks, as a provider's servers would.
struct SimulatedProvider::Senders {
  boost::asio::thread_pool pool{16};
};

SimulatedProvider::SimulatedProvider(std::string publicBaseUrl, std::string webhookUrl,
                                     std::string secret)
    : m_publicBaseUrl(std::move(publicBaseUrl)),
      m_webhookUrl(std::move(webhookUrl)),
      m_secret(std::move(secret)),
      m_senders(std::make_unique<Senders>()) {}

void SimulatedProvider::deliverLater(WebhookRequest request, std::function<void(CloudResult<bool>)> done) {
  boost::asio::post(m_senders->pool, [this, request = std::move(request), done = std::move(done)] {
    done(deliver(request));
  });
}

SimulatedProvider::~SimulatedProvider() {
  m_senders->pool.join();
}

void SimulatedProvider::setUrls(std::string publicBaseUrl, std::string webhookUrl) {
  m_publicBaseUrl = std::move(publicBaseUrl);
  m_webhookUrl = std::move(webhookUrl);
  std::lock_guard lock(m_poolMutex);
  m_pool.clear();
}

CloudResult<std::string> SimulatedProvider::paymentUrl(const Order& order) {
  return m_publicBaseUrl + "/pay/" + order.id;
}

WebhookRequest SimulatedProvider::notification(const Order& order, const std::string& status,
                                               std::int64_t now) const {
  const nlohmann::json body{{"event_id", "sim_" + protocol::randomHex(12)},
                            {"order_id", order.id},
                            {"status", status},
                            {"amount", order.amount},
                            {"currency", "CNY"}};
  WebhookRequest request;
  request.body = body.dump();
  const std::string timestamp = std::to_string(now);
  request.headers["x-provider-timestamp"] = timestamp;
  request.headers["x-provider-signature"] = protocol::hmacSha256Hex(m_secret, timestamp + "\n" + request.body);
  return request;
}

CloudResult<bool> SimulatedProvider::deliver(const WebhookRequest& request) const {
  // Split "http(s)://host:port/path" for httplib's client.
  const auto scheme = m_webhookUrl.find("://");
  const auto pathStart = m_webhookUrl.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || pathStart == std::string::npos) {
    return failWith(CloudError::Internal, "bad webhook URL " + m_webhookUrl);
  }
  // A small pool of kept-alive connections, as a provider's notifier keeps them: a
  // connection per worker thread would leave many idle ones holding the server's threads.
  const std::string base = m_webhookUrl.substr(0, pathStart);
  std::unique_ptr<httplib::Client> client;
  {
    std::lock_guard lock(m_poolMutex);
    if (!m_pool.empty()) {
      client = std::move(m_pool.back());
      m_pool.pop_back();
    }
  }
  if (!client) {
    client = std::make_unique<httplib::Client>(base);
    client->enable_server_certificate_verification(false);
    client->set_connection_timeout(5);
    client->set_read_timeout(10);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);
  }
  httplib::Headers headers;
  for (const auto& [name, value] : request.headers) headers.emplace(name, value);
  auto response = client->Post(m_webhookUrl.substr(pathStart).c_str(), headers, request.body,
                              "application/json");
  if (!response) {
    // The kept-alive connection may have been closed while idle: once more on a fresh one.
    // The event id makes a notification that did arrive count once.
    client->stop();
    response = client->Post(m_webhookUrl.substr(pathStart).c_str(), headers, request.body,
                            "application/json");
  }
  if (response) {
    std::lock_guard lock(m_poolMutex);
    if (m_pool.size() < 16) m_pool.push_back(std::move(client));
  }
  if (!response) {
    return failWith(CloudError::PaymentFailed,
                    "webhook unreachable: " + httplib::to_string(response.error()));
  }
  if (response->status != 200) {
    return failWith(CloudError::PaymentFailed,
                    "webhook answered " + std::to_string(response->status) + ": " + response->body);
  }
  return true;
}

CloudResult<PaymentEvent> SimulatedProvider::parseWebhook(const WebhookRequest& request,
                                                          std::int64_t now) {
  const auto ts = request.headers.find("x-provider-timestamp");
  const auto sig = request.headers.find("x-provider-signature");
  if (ts == request.headers.end() || sig == request.headers.end()) {
    return failWith(CloudError::BadSignature, "notification is not signed");
  }
  const std::string expected = protocol::hmacSha256Hex(m_secret, ts->second + "\n" + request.body);
  if (!protocol::constantTimeEqual(expected, sig->second)) {
    return failWith(CloudError::BadSignature, "notification signature does not verify");
  }
  char* end = nullptr;
  const long long stamp = std::strtoll(ts->second.c_str(), &end, 10);
  if (end == ts->second.c_str() || *end != '\0' || std::llabs(now - stamp) > kWebhookSkew) {
    return failWith(CloudError::StaleTimestamp, "notification timestamp out of range");
  }
  const auto body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return failWith(CloudError::MalformedJson, "notification is not JSON");
  }
  PaymentEvent event;
  event.provider = name();
  if (!body.contains("event_id") || !body["event_id"].is_string() || !body.contains("order_id") ||
      !body["order_id"].is_string() || !body.contains("status") || !body["status"].is_string() ||
      !body.contains("amount") || !body["amount"].is_number_integer()) {
    return failWith(CloudError::BadRequest, "notification lacks event_id, order_id, status or amount");
  }
  event.eventId = body["event_id"].get<std::string>();
  event.orderId = body["order_id"].get<std::string>();
  event.status = body["status"].get<std::string>();
  event.amount = body["amount"].get<std::int64_t>();
  if (event.status != "SUCCESS" && event.status != "DECLINED") {
    return failWith(CloudError::BadRequest, "status must be SUCCESS or DECLINED");
  }
  return event;
}

CloudResult<bool> SimulatedProvider::refund(const Order& order) {
  std::lock_guard lock(m_refundMutex);
  if (!m_refunded.insert(order.id).second) {
    spdlog::info("sim provider: order {} was refunded already", order.id);
    return true;
  }
  spdlog::info("sim provider: refunded {} minor units of order {}", order.amount, order.id);
  return true;
}

}  // namespace kiosk::cloud
