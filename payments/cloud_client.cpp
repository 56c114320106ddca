#include "payments/cloud_client.hpp"

#include "protocol/text.hpp"

#include "protocol/paths.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace kiosk::payments {

namespace {

using nlohmann::json;

// The long poll's own wait plus room for the answer to travel.
constexpr std::chrono::seconds kLongPollSlack{10};

}  // namespace

CloudClient::CloudClient(Transport& transport, RequestSigner signer)
    : m_transport(transport), m_signer(std::move(signer)) {}

Result<HttpResponse, PayFailure> CloudClient::call(
    const std::string& method, const std::string& target, const std::string& body,
    std::chrono::milliseconds timeout, const std::atomic<bool>* cancel,
    std::vector<std::pair<std::string, std::string>> extra) {
  HttpRequest request;
  request.method = method;
  request.target = target;
  request.body = body;
  request.timeout = timeout;
  request.cancel = cancel;
  request.headers = m_signer.sign(method, target, body);
  request.headers.insert(request.headers.end(), extra.begin(), extra.end());
  request.headers.emplace_back("Accept", "application/json");

  const auto started = std::chrono::steady_clock::now();
  auto sent = m_transport.send(request);
  m_transportNanos += std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
  if (!sent) {
    PayFailure failure = classify(sent.error().curlCode, 0, {}, sent.error().message);
    spdlog::warn("cloud: {} {}: {}", method, target, describe(failure));
    return fail(std::move(failure));
  }
  const long status = sent->status;
  if ((status >= 200 && status < 300) || status == 304) return std::move(*sent);
  auto [code, message] = cloudErrorOf(sent->body);
  PayFailure failure = classify(0, status, code, message);
  spdlog::info("cloud: {} {}: {}", method, target, describe(failure));
  return fail(std::move(failure));
}

std::string CloudClient::orderBody(const OrderRequest& request) {
  // nlohmann's object keeps keys sorted: the same request always gives the same bytes.
  return json{{"idempotency_key", request.idempotencyKey},
              {"card_number", request.cardNumber},
              {"amount", request.amount},
              {"challenge", request.challenge}}
      .dump();
}

Decoded<CardSummary> CloudClient::lookupCard(const std::string& cardNumber) {
  if (!protocol::isNumber(cardNumber)) return fail(PayFailure{PayError::Rejected, "bad card number", 0, {}});
  auto reply = call("GET", protocol::cardPath(cardNumber), "");
  if (!reply) return fail(reply.error());
  auto summary = decodeCardSummary(reply->body);
  if (summary && summary->card.number != cardNumber) {
    return fail(PayFailure{PayError::BadResponse, "summary is for another card", reply->status, {}});
  }
  return summary;
}

Decoded<CreatedOrder> CloudClient::createOrder(const OrderRequest& request) {
  auto reply = call("POST", protocol::kOrdersPath, orderBody(request));
  if (!reply) return fail(reply.error());
  auto created = decodeCreatedOrder(reply->body);
  if (!created) return created;
  created->created = reply->status == 201;
  if (created->order.cardNumber != request.cardNumber || created->order.amount != request.amount) {
    return fail(PayFailure{PayError::BadResponse, "order differs from the request", reply->status, {}});
  }
  return created;
}

Decoded<Order> CloudClient::orderState(const std::string& orderId, std::chrono::seconds wait,
                                       std::optional<OrderState> since,
                                       const std::atomic<bool>* cancel) {
  if (!protocol::isOrderId(orderId)) return fail(PayFailure{PayError::Rejected, "bad order id", 0, {}});
  std::string target = protocol::orderPath(orderId);
  std::chrono::milliseconds timeout{0};
  if (wait.count() > 0) {
    target += "?wait=" + std::to_string(wait.count());
    if (since) target += "&since=" + std::string(toString(*since));
    timeout = wait + kLongPollSlack;
  }
  auto reply = call("GET", target, "", timeout, cancel);
  if (!reply) return fail(reply.error());
  auto order = decodeOrder(reply->body);
  if (order && order->id != orderId) {
    return fail(PayFailure{PayError::BadResponse, "answer is for another order", reply->status, {}});
  }
  return order;
}

Decoded<Order> CloudClient::cancelOrder(const std::string& orderId) {
  if (!protocol::isOrderId(orderId)) return fail(PayFailure{PayError::Rejected, "bad order id", 0, {}});
  auto reply = call("POST", protocol::orderPath(orderId, protocol::kCancelAction), "{}");
  if (!reply) return fail(reply.error());
  auto order = decodeOrder(reply->body);
  if (order && order->id != orderId) {
    return fail(PayFailure{PayError::BadResponse, "answer is for another order", reply->status, {}});
  }
  return order;
}

Decoded<ScriptReply> CloudClient::fetchScript(const std::string& orderId,
                                              const std::string& cardNumber,
                                              const std::string& challengeHex) {
  if (!protocol::isOrderId(orderId)) return fail(PayFailure{PayError::Rejected, "bad order id", 0, {}});
  const std::string body = json{{"card_number", cardNumber}, {"challenge", challengeHex}}.dump();
  auto reply = call("POST", protocol::orderPath(orderId, protocol::kScriptAction), body);
  if (!reply) return fail(reply.error());
  return decodeScriptReply(reply->body);
}

Decoded<Order> CloudClient::confirmDelivery(const std::string& orderId,
                                            const std::string& cardNumber,
                                            std::int64_t sequence, const DeliveryProof& proof) {
  if (!protocol::isOrderId(orderId)) return fail(PayFailure{PayError::Rejected, "bad order id", 0, {}});
  const std::string body = json{{"card_number", cardNumber},
                                {"sequence", sequence},
                                {"proof", json::parse(proof.toJson())}}.dump();
  auto reply = call("POST", protocol::orderPath(orderId, protocol::kDeliveredAction), body);
  if (!reply) return fail(reply.error());
  auto order = decodeOrder(reply->body);
  if (order && (order->id != orderId || order->state != OrderState::Delivered)) {
    return fail(PayFailure{PayError::BadResponse, "delivery answer is not DELIVERED", reply->status, {}});
  }
  return order;
}

Decoded<JournalAck> CloudClient::uploadJournal(const std::vector<OutboxEvent>& events) {
  json items = json::array();
  std::int64_t last = 0;
  for (const auto& event : events) {
    json data = json::parse(event.data, nullptr, false);
    if (data.is_discarded() || !data.is_object()) data = json::object();
    items.push_back({{"seq", event.seq}, {"type", event.type}, {"at", event.at}, {"data", data}});
    last = std::max(last, event.seq);
  }
  auto reply = call("POST", protocol::kJournalPath, json{{"events", items}}.dump());
  if (!reply) return fail(reply.error());
  auto ack = decodeJournalAck(reply->body);
  if (ack && (ack->lastSeq != last ||
              ack->accepted + ack->duplicates != static_cast<std::int64_t>(events.size()))) {
    return fail(PayFailure{PayError::BadResponse, "journal acknowledgement does not match the batch",
                           reply->status, {}});
  }
  return ack;
}

Decoded<ReadingAck> CloudClient::postReading(const std::string& cardNumber,
                                             const std::string& returnHex) {
  const std::string body = json{{"card_number", cardNumber}, {"return", returnHex}}.dump();
  auto reply = call("POST", protocol::kReadingsPath, body);
  if (!reply) return fail(reply.error());
  return decodeReadingAck(reply->body);
}

Decoded<std::optional<ConfigDownload>> CloudClient::fetchConfig(const std::string& etag) {
  std::vector<std::pair<std::string, std::string>> extra;
  if (!etag.empty()) extra.emplace_back("If-None-Match", etag);
  auto reply = call("GET", protocol::kConfigPath, "", {}, nullptr, std::move(extra));
  if (!reply) return fail(reply.error());
  if (reply->status == 304) return std::optional<ConfigDownload>{};
  if (reply->status != 200) {
    return fail(PayFailure{PayError::BadResponse, "unexpected status for config", reply->status, {}});
  }
  auto config = decodeKioskConfig(reply->body);
  if (!config) return fail(config.error());
  const auto tag = reply->headers.find("etag");
  return std::optional<ConfigDownload>{
      ConfigDownload{std::move(*config), tag == reply->headers.end() ? std::string{} : tag->second,
                     std::move(reply->body)}};
}

}  // namespace kiosk::payments
