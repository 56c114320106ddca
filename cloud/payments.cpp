#include "cloud/payments.hpp"

#include "cloud/crypto.hpp"
#include "platform/time_format.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <ctime>
#include <memory>

namespace kiosk::cloud {
namespace {

std::string htmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string money(std::int64_t minor) {
  const std::int64_t whole = minor / 100;
  const std::int64_t cents = std::llabs(minor % 100);
  return std::to_string(whole) + "." + (cents < 10 ? "0" : "") + std::to_string(cents);
}

constexpr std::int64_t kWebhookSkew = 300;

}  // namespace

SimulatedProvider::SimulatedProvider(std::string publicBaseUrl, std::string webhookUrl,
                                     std::string secret)
    : m_publicBaseUrl(std::move(publicBaseUrl)),
      m_webhookUrl(std::move(webhookUrl)),
      m_secret(std::move(secret)) {}

SimulatedProvider::~SimulatedProvider() = default;

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
  const nlohmann::json body{{"event_id", "sim_" + randomHex(12)},
                            {"order_id", order.id},
                            {"status", status},
                            {"amount", order.amount},
                            {"currency", "CNY"}};
  WebhookRequest request;
  request.body = body.dump();
  const std::string timestamp = std::to_string(now);
  request.headers["x-provider-timestamp"] = timestamp;
  request.headers["x-provider-signature"] = hmacSha256Hex(m_secret, timestamp + "\n" + request.body);
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
  const std::string expected = hmacSha256Hex(m_secret, ts->second + "\n" + request.body);
  if (!constantTimeEqual(expected, sig->second)) {
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

std::string SimulatedProvider::payPage(const Order& order, const std::string& maskedAccount,
                                       const std::string& formAction) {
  std::string page = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay for electricity credit</title>
<style>
body{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}.amount{font-size:2.4rem;font-weight:bold;margin:1rem 0}
button{font-size:1.2rem;padding:.8rem 1.6rem;margin:.4rem;border-radius:.4rem;border:0}
#pay{background:#1a7f37;color:#fff}#decline{background:#ccc}
</style></head><body>
<h1>Simulated payment / 模拟支付</h1>
<p>Order <code id="order">{ORDER}</code></p>
<p>Account <span id="account">{ACCOUNT}</span></p>
<div class="amount" id="amount">¥{AMOUNT}</div>
<p id="state">{STATE}</p>
<form method="post" action="{ACTION}">
<button id="pay" name="action" value="pay" type="submit">Pay / 支付</button>
<button id="decline" name="action" value="decline" type="submit">Decline / 拒绝</button>
</form></body></html>
)";
  auto replace = [&page](const std::string& key, const std::string& value) {
    const auto at = page.find(key);
    if (at != std::string::npos) page.replace(at, key.size(), value);
  };
  replace("{ORDER}", htmlEscape(order.id));
  replace("{ACCOUNT}", htmlEscape(maskedAccount));
  replace("{AMOUNT}", money(order.amount));
  replace("{STATE}", htmlEscape(order.state));
  replace("{ACTION}", htmlEscape(formAction));
  return page;
}

std::string receiptPage(const Order& order, const std::string& maskedAccount) {
  auto utc = [](std::optional<std::int64_t> at) -> std::string {
    if (!at) return "-";
    return platform::formatTime(*at, platform::kUtcZone, platform::kDateTimeZonePattern);
  };
  const std::string card = order.cardNumber.size() > 4
                               ? std::string(order.cardNumber.size() - 4, '*') +
                                     order.cardNumber.substr(order.cardNumber.size() - 4)
                               : order.cardNumber;
  return std::string(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Receipt / 收据</title>
<style>body{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222}
td{padding:.2rem .6rem}</style></head><body>
<h1>Receipt / 收据</h1><table>
<tr><td>Order / 订单</td><td id="order">)") +
         htmlEscape(order.id) + R"(</td></tr>
<tr><td>Account / 户号</td><td id="account">)" + htmlEscape(maskedAccount) + R"(</td></tr>
<tr><td>Card / 卡号</td><td id="card">)" + htmlEscape(card) + R"(</td></tr>
<tr><td>Meter / 表号</td><td id="meter">)" + htmlEscape(order.meterNumber) + R"(</td></tr>
<tr><td>Paid / 实付</td><td id="amount">¥)" + money(order.amount) + R"(</td></tr>
<tr><td>Fees / 缴费</td><td id="fees">¥)" + money(order.feeAmount) + R"(</td></tr>
<tr><td>Credit / 充值</td><td id="credit">¥)" + money(order.creditAmount) + R"(</td></tr>
<tr><td>State / 状态</td><td id="state">)" + htmlEscape(order.state) + R"(</td></tr>
<tr><td>Paid at / 支付时间</td><td>)" + utc(order.paidAt) + R"(</td></tr>
<tr><td>Delivered at / 写卡时间</td><td>)" + utc(order.deliveredAt) + R"(</td></tr>
</table></body></html>
)";
}

std::string SimulatedProvider::resultPage(const std::string& title, const std::string& message) {
  return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + htmlEscape(title) +
         "</title></head><body><h1 id=\"result\">" + htmlEscape(title) + "</h1><p>" +
         htmlEscape(message) + "</p></body></html>\n";
}

}  // namespace kiosk::cloud
