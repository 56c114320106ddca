#include "cloud/server.hpp"

#include "cloud/api_json.hpp"
#include "cloud/crypto.hpp"
#include "cloud/http_server.hpp"
#include "cloud/operator_requests.hpp"
#include "cloud/request_json.hpp"
#include "cloud/text.hpp"
#include "platform/api_limits.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace kiosk::cloud {
namespace {

using nlohmann::json;
namespace limits = platform::api_limits;

struct Reply {
  int status = 200;
  json body;
};

// Counters for /metrics, in Prometheus text format.
class Metrics {
 public:
  void request(const std::string& route, int status, double seconds) {
    std::lock_guard lock(m_mutex);
    ++m_requests[{route, status}];
    auto& latency = m_latency[route];
    latency.first += seconds;
    ++latency.second;
  }
  void count(const std::string& name, const std::string& label = {}) {
    std::lock_guard lock(m_mutex);
    ++m_counters[{name, label}];
  }
  void waiting(int delta) { m_waiting += delta; }

  std::string render() const {
    std::lock_guard lock(m_mutex);
    std::string out;
    out += "# HELP kiosk_cloud_http_requests_total HTTP requests by route and status.\n";
    out += "# TYPE kiosk_cloud_http_requests_total counter\n";
    for (const auto& [key, value] : m_requests) {
      out += "kiosk_cloud_http_requests_total{route=\"" + key.first + "\",status=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(value) + "\n";
    }
    out += "# HELP kiosk_cloud_http_request_seconds Time spent answering, by route.\n";
    out += "# TYPE kiosk_cloud_http_request_seconds summary\n";
    for (const auto& [route, value] : m_latency) {
      out += "kiosk_cloud_http_request_seconds_sum{route=\"" + route + "\"} " +
             std::to_string(value.first) + "\n";
      out += "kiosk_cloud_http_request_seconds_count{route=\"" + route + "\"} " +
             std::to_string(value.second) + "\n";
    }
    std::string last;
    for (const auto& [key, value] : m_counters) {
      if (key.first != last) {
        out += "# TYPE " + key.first + " counter\n";
        last = key.first;
      }
      out += key.first;
      if (!key.second.empty()) out += "{" + key.second + "}";
      out += " " + std::to_string(value) + "\n";
    }
    out += "# TYPE kiosk_cloud_long_polls_waiting gauge\n";
    out += "kiosk_cloud_long_polls_waiting " + std::to_string(m_waiting.load()) + "\n";
    return out;
  }

 private:
  mutable std::mutex m_mutex;
  std::map<std::pair<std::string, int>, std::uint64_t> m_requests;
  std::map<std::string, std::pair<double, std::uint64_t>> m_latency;
  std::map<std::pair<std::string, std::string>, std::uint64_t> m_counters;
  std::atomic<int> m_waiting{0};
};

// Wakes long polls when an order changes. Fed by the database's notifications (LISTEN/NOTIFY
// on PostgreSQL, so a change made by another process wakes this one too).
class Waiters {
 public:
  // Only orders someone is polling are tracked, so the map stays as small as the polls.
  void changed(const std::string& orderId) {
    {
      std::lock_guard lock(m_mutex);
      auto it = m_generation.find(orderId);
      if (it == m_generation.end()) return;
      ++it->second;
    }
    m_cv.notify_all();
  }
  std::uint64_t generation(const std::string& orderId) {
    std::lock_guard lock(m_mutex);
    return m_generation[orderId];
  }
  // Waits until the order's generation moves past `seen` or the time is up.
  void wait(const std::string& orderId, std::uint64_t seen, std::chrono::milliseconds upTo) {
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, upTo, [&] { return m_generation[orderId] != seen; });
  }
  void forget(const std::string& orderId) {
    std::lock_guard lock(m_mutex);
    m_generation.erase(orderId);
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::map<std::string, std::uint64_t> m_generation;
};

Failure bad(const std::string& message) { return {CloudError::BadRequest, message}; }

// How long a sweeper's claim on a refund holds: well beyond one provider call, so that only a
// process that died lets another one ask again.
constexpr std::int64_t kRefundClaimSeconds = 60;

bool isHex(const std::string& text, std::size_t length) {
  return text.size() == length &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c); });
}

// Residents' names are shown masked on a lobby screen.
std::string maskName(const std::string& resident) {
  // The first character whole, however many UTF-8 bytes it takes.
  const auto lead = static_cast<unsigned char>(resident.empty() ? 0 : resident[0]);
  const std::size_t first = (lead & 0xE0U) == 0xC0U ? 2 : (lead & 0xF0U) == 0xE0U ? 3 : (lead & 0xF8U) == 0xF0U ? 4 : 1;
  return resident.empty() ? "" : resident.substr(0, std::min(first, resident.size())) + "**";
}

std::string maskAccount(const std::string& id) {
  if (id.size() <= 4) return std::string(id.size(), '*');
  return id.substr(0, 2) + std::string(id.size() - 4, '*') + id.substr(id.size() - 2);
}

}  // namespace

struct Server::Impl {
  ServerConfig cfg;
  Store& store;
  CardFormat* format;
  SimulatedProvider& provider;
  const platform::Clock& clock;
  std::unique_ptr<KeepAliveServer> http;
  Metrics metrics;
  // Shared with the database's listener thread, which may outlive this server by a moment.
  std::shared_ptr<Waiters> waiters = std::make_shared<Waiters>();
  std::thread sweeper;
  std::atomic<bool> stopping{false};
  std::mutex sweepMutex;
  std::condition_variable sweepCv;
  // This process's name on the refunds it claims.
  const std::string refundClaimant = "sweeper-" + randomHex(8);
  int port = 0;
  int listenSocket = -1;
  std::mutex authMutex;
  std::map<std::string, std::pair<KioskAuth, std::chrono::steady_clock::time_point>> authCache;

  Impl(const ServerConfig& config, Store& s, CardFormat* f, SimulatedProvider& p,
       const platform::Clock& c)
      : cfg(config), store(s), format(f), provider(p), clock(c) {}

  std::int64_t now() const { return clock.unixSeconds(); }

  static void sendJson(httplib::Response& res, int status, const json& body) {
    res.status = status;
    // Answers are built from checked input, but a stray invalid byte must not turn a reply
    // into an exception: it is written as U+FFFD.
    res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
  }
  static void sendError(httplib::Response& res, const Failure& failure) {
    sendJson(res, httpStatus(failure.error),
             {{"error", {{"code", errorCode(failure.error)}, {"message", failure.message}}}});
  }

  // Registers a route whose handler returns JSON or a failure; counts and logs every call.
  template <class Handler>
  void route(const std::string& method, const std::string& pattern, const std::string& name,
             Handler handler) {
    auto wrapped = [this, name, handler](const httplib::Request& req, httplib::Response& res) {
      const auto started = std::chrono::steady_clock::now();
      CloudResult<Reply> reply = handler(req, res);
      if (reply) {
        if (reply->status != 0) sendJson(res, reply->status, reply->body);
      } else {
        sendError(res, reply.error());
        if (reply.error().error == CloudError::Internal ||
            reply.error().error == CloudError::Unavailable) {
          spdlog::error("{} {}: {} {}", req.method, forLog(req.path), errorCode(reply.error().error),
                        forLog(reply.error().message, 1000));
        } else {
          spdlog::info("{} {}: {} {}", req.method, forLog(req.path), errorCode(reply.error().error),
                       forLog(reply.error().message, 1000));
        }
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      metrics.request(name, res.status, seconds);
    };
    if (method == "GET") http->Get(pattern, wrapped);
    else if (method == "POST") http->Post(pattern, wrapped);
  }

  // ---- kiosk request signing
  // Checks a kiosk request's signature, timestamp and nonce format. The nonce is not yet
  // spent: authenticateKiosk() spends it, or the store inside the request's own transaction.
  CloudResult<KioskCaller> verifyKiosk(const httplib::Request& req) {
    const std::string kioskId = req.get_header_value("X-Kiosk-Id");
    const std::string timestamp = req.get_header_value("X-Timestamp");
    const std::string nonce = req.get_header_value("X-Nonce");
    const std::string signature = req.get_header_value("X-Signature");
    if (kioskId.empty() || timestamp.empty() || nonce.empty() || signature.empty()) {
      return failWith(CloudError::Unauthorized,
                      "X-Kiosk-Id, X-Timestamp, X-Nonce and X-Signature are required");
    }
    // Header values are bytes: an id that no kiosk can have is not looked up (the database
    // would refuse bytes that are not UTF-8) nor written back.
    if (kioskId.size() > limits::kMaxIdLength || !isText(kioskId)) {
      return failWith(CloudError::UnknownKiosk, "unknown kiosk (X-Kiosk-Id is not a kiosk id)");
    }
    KIOSK_TRY(kiosk, cachedKioskAuth(kioskId));
    const std::string expected =
        hmacSha256Hex(kiosk->secret, canonicalRequest(req.method, req.target, timestamp, nonce, req.body));
    if (!constantTimeEqual(expected, signature)) {
      return failWith(CloudError::BadSignature, "request signature does not verify");
    }
    if (kiosk->status != "ACTIVE") return failWith(CloudError::KioskDisabled, "kiosk is blocked");
    char* end = nullptr;
    const long long stamp = std::strtoll(timestamp.c_str(), &end, 10);
    if (end == timestamp.c_str() || *end != '\0' || std::llabs(now() - stamp) > cfg.maxSkewSeconds) {
      return failWith(CloudError::StaleTimestamp, "X-Timestamp is more than " +
                                                      std::to_string(cfg.maxSkewSeconds) +
                                                      " s away from the server's clock");
    }
    if (nonce.size() < 16 || nonce.size() > 64 ||
        !std::all_of(nonce.begin(), nonce.end(), [](unsigned char c) { return c > 0x20 && c < 0x7F; })) {
      return failWith(CloudError::BadRequest, "X-Nonce must be 16 to 64 printable ASCII characters");
    }
    return KioskCaller{kioskId, nonce, {}};
  }

  CloudResult<std::string> authenticateKiosk(const httplib::Request& req) {
    KIOSK_TRY(caller, verifyKiosk(req));
    KIOSK_TRY(fresh, store.rememberNonce(caller->kioskId, caller->nonce, now()));
    if (!*fresh) return failWith(CloudError::ReplayedNonce, "nonce was already used");
    return caller->kioskId;
  }

  // For requests whose nonce travels in their own transaction: a refused one (its transaction
  // rolled back, or it never reached the store) still spends it, so a replay gets no second try.
  template <class Work>
  CloudResult<Reply> withNonce(const httplib::Request& req, Work work) {
    KIOSK_TRY(caller, verifyKiosk(req));
    CloudResult<Reply> reply = work(*caller);
    if (!reply && reply.error().error != CloudError::ReplayedNonce) {
      (void)store.rememberNonce(caller->kioskId, caller->nonce, now());
    }
    return reply;
  }

  // Kiosk secrets and status change rarely; a two-second cache saves a query per request,
  // and a blocked kiosk is refused at most two seconds later.
  CloudResult<KioskAuth> cachedKioskAuth(const std::string& kioskId) {
    const auto nowTime = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(authMutex);
      auto it = authCache.find(kioskId);
      if (it != authCache.end() && it->second.second > nowTime) return it->second.first;
    }
    KIOSK_TRY(auth, store.kioskAuth(kioskId));
    std::lock_guard lock(authMutex);
    if (authCache.size() > 10000) authCache.clear();
    authCache[kioskId] = {*auth, nowTime + std::chrono::seconds(2)};
    return auth;
  }

  CloudResult<bool> authenticateAdmin(const httplib::Request& req) {
    const std::string header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (!header.starts_with(prefix) ||
        !constantTimeEqual(header.substr(prefix.size()), cfg.adminToken)) {
      return failWith(CloudError::Unauthorized, "operator token missing or wrong");
    }
    return true;
  }

  CloudResult<Order> kioskOrder(const std::string& kioskId, const std::string& orderId) {
    KIOSK_TRY(order, store.order(orderId));
    if (order->kioskId != kioskId) {
      return failWith(CloudError::ForeignOrder, "order belongs to another kiosk");
    }
    return order;
  }

  CloudResult<Reply> createOrder(const httplib::Request& req, const KioskCaller& caller) {
    KIOSK_TRY(body, parseBody(req.body));
    KIOSK_TRY(key, stringField(*body, "idempotency_key"));
    KIOSK_TRY(card, stringField(*body, "card_number"));
    KIOSK_TRY(amount, integerField(*body, "amount"));
    KIOSK_TRY(challenge, stringField(*body, "challenge"));
    if (key->size() > 64) return Unexpected<Failure>{bad("idempotency_key is too long")};
    if (!isHex(*challenge, 16)) {
      return failWith(CloudError::BadChallenge, "challenge must be 8 bytes of hex");
    }
    CreateOrderRequest request{caller.kioskId, *key,        *card,       *amount,
                               *challenge,     sha256Hex(req.body), provider.name(),
                               cfg.minAmount,  cfg.maxAmount,       cfg.orderTtlSeconds};
    KIOSK_TRY(created, store.createOrder(request, now(), caller));
    if (created->created) metrics.count("kiosk_cloud_orders_created_total");
    json out = orderReply(created->order);
    out["fee_items"] = feeItemsToJson(created->feeItems);
    return Reply{created->created ? 201 : 200, out};
  }

  // Where residents' phones reach this service (QR links): the configured public URL, else
  // the address it listens on.
  std::string publicBase() const {
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

  json orderReply(const Order& order) {
    json out = orderToJson(order);
    if (order.state == state::kCreated) {
      auto url = provider.paymentUrl(order);
      if (url) out["qr_url"] = *url;
    }
    return out;
  }

  void registerRoutes() {
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

    // ---- kiosk API
    route("GET", R"(/v1/kiosk/cards/([0-9]{1,19}))", "card_lookup",
          [this](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
            KIOSK_TRY(kiosk, authenticateKiosk(req));
            KIOSK_TRY(summary, store.cardSummary(req.matches[1], now()));
            if (summary->account) summary->account->resident = maskName(summary->account->resident);
            return Reply{200, cardSummaryToJson(*summary)};
          });

    route("POST", "/v1/kiosk/orders", "order_create",
          [this](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
            return withNonce(req, [&](const KioskCaller& caller) { return createOrder(req, caller); });
          });

    route("GET", R"(/v1/kiosk/orders/([A-Za-z0-9_]+))", "order_state",
          [this](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
            KIOSK_TRY(kiosk, authenticateKiosk(req));
            const std::string id = req.matches[1];
            std::int64_t wait = 0;
            if (req.has_param("wait")) {
              wait = std::clamp<std::int64_t>(std::atoll(req.get_param_value("wait").c_str()), 0,
                                              cfg.maxLongPollSeconds);
            }
            std::uint64_t seen = waiters->generation(id);
            auto order = kioskOrder(*kiosk, id);
            if (!order) {
              waiters->forget(id);
              return Unexpected<Failure>{order.error()};
            }
            // Long poll: answer as soon as the state differs from what the kiosk last saw.
            const std::string since = req.has_param("since") ? req.get_param_value("since")
                                                             : order->state;
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait);
            Order current = *order;
            metrics.waiting(1);
            while (current.state == since && std::chrono::steady_clock::now() < deadline &&
                   !stopping) {
              // A short slice keeps SQLite (no cross-process notification) and missed
              // wake-ups bounded to a second.
              const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now());
              waiters->wait(id, seen, std::min(left, std::chrono::milliseconds(1000)));
              seen = waiters->generation(id);
              auto fresh = store.order(id);
              if (!fresh) {
                metrics.waiting(-1);
                waiters->forget(id);
                return Unexpected<Failure>{fresh.error()};
              }
              current = *fresh;
            }
            metrics.waiting(-1);
            waiters->forget(id);
            return Reply{200, orderReply(current)};
          });

    route("POST", R"(/v1/kiosk/orders/([A-Za-z0-9_]+)/cancel)", "order_cancel",
          [this](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
            KIOSK_TRY(kiosk, authenticateKiosk(req));
            KIOSK_TRY(order, store.cancelOrder(*kiosk, req.matches[1], now()));
            return Reply{200, orderReply(*order)};
          });

    route("POST", R"(/v1/kiosk/orders/([A-Za-z0-9_]+)/script)", "order_script",
          [this](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
            return withNonce(req, [&](KioskCaller caller) -> CloudResult<Reply> {
              KIOSK_TRY(body, parseBody(req.body));
              KIOSK_TRY(card, stringField(*body, "card_number"));
              KIOSK_TRY(challenge, stringField(*body, "challenge"));
              if (!isHex(*challenge, 16)) {
                return failWith(CloudError::BadChallenge, "challenge must be 8 bytes of hex");
              }
              if (format == nullptr) return failWith(CloudError::CardFormat, "no vending key loaded");
              caller.cardNumber = *card;
              KIOSK_TRY(token, store.issueToken(req.matches[1], *format, now(), caller));
              if (token->minted) metrics.count("kiosk_cloud_tokens_minted_total");
              KIOSK_TRY(script, format->creditWriteScript(*card, token->tokenHex, *challenge));
              return Reply{200,
                           {{"order_id", token->orderId},
                            {"state", state::kTokenIssued},
                            {"token",
                             {{"meter_number", token->meterNumber},
                              {"sequence", token->sequence},
                              {"amount", token->amount},
                              {"key_version", token->keyVersion},
                              {"issued_at", token->issuedAt},
                              {"hex", token->tokenHex}}},
                            {"script", *script}}};
            });
          });

    route("POST", R"(/v1/kiosk/orders/([A-Za-z0-9_]+)/delivered)", "order_delivered",
          [this](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
            return withNonce(req, [&](KioskCaller caller) -> CloudResult<Reply> {
              KIOSK_TRY(body, parseBody(req.body));
              KIOSK_TRY(card, stringField(*body, "card_number"));
              KIOSK_TRY(sequence, integerField(*body, "sequence"));
              caller.cardNumber = *card;
              KIOSK_TRY(done, store.confirmDelivery(req.matches[1], *sequence, now(), caller));
              metrics.count("kiosk_cloud_orders_delivered_total");
              return Reply{200, orderReply(*done)};
            });
          });

    route("POST", "/v1/kiosk/journal", "journal_upload",
          [this](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
            KIOSK_TRY(kiosk, authenticateKiosk(req));
            KIOSK_TRY(body, parseBody(req.body));
            if (!body->contains("events") || !(*body)["events"].is_array()) {
              return Unexpected<Failure>{bad("events must be an array")};
            }
            const auto& items = (*body)["events"];
            if (items.size() > 500) return Unexpected<Failure>{bad("at most 500 events per batch")};
            std::vector<JournalEvent> events;
            for (const auto& item : items) {
              if (!item.is_object()) return Unexpected<Failure>{bad("each event is an object")};
              KIOSK_TRY(seq, integerField(item, "seq"));
              KIOSK_TRY(type, stringField(item, "type"));
              KIOSK_TRY(at, integerField(item, "at"));
              if (*seq < 1) return Unexpected<Failure>{bad("seq starts at 1")};
              events.push_back({*seq, *type, *at,
                                item.contains("data") ? item["data"].dump() : std::string("{}")});
            }
            KIOSK_TRY(result, store.appendJournal(*kiosk, events, now()));
            std::int64_t last = 0;
            for (const auto& e : events) last = std::max(last, e.seq);
            return Reply{200,
                         {{"accepted", result->accepted},
                          {"duplicates", result->duplicates},
                          {"last_seq", last}}};
          });

    route("POST", "/v1/kiosk/readings", "meter_reading",
          [this](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
            KIOSK_TRY(kiosk, authenticateKiosk(req));
            KIOSK_TRY(body, parseBody(req.body));
            KIOSK_TRY(card, stringField(*body, "card_number"));
            KIOSK_TRY(data, stringField(*body, "return"));
            if (format == nullptr) return failWith(CloudError::CardFormat, "no vending key loaded");
            KIOSK_TRY(summary, store.cardSummary(*card, now()));
            // A staff card has no meter, so no RETURN file to read.
            if (!summary->meter) {
              return failWith(CloudError::BadRequest, "card " + *card + " has no meter");
            }
            KIOSK_TRY(reading, format->verifyReturn(*data, summary->meter->keyVersion));
            KIOSK_TRY(result, store.recordReading(*kiosk, *card, *reading, now()));
            return Reply{200,
                         {{"stored", result->stored},
                          {"tokens_loaded", result->tokensLoaded},
                          {"reading",
                           {{"meter_number", reading->meterNumber},
                            {"last_sequence", reading->lastSequence},
                            {"remaining", reading->remaining},
                            {"consumption", reading->consumption},
                            {"at", reading->timestamp},
                            {"flags", reading->flags}}}}};
          });

    route("GET", "/v1/kiosk/config", "kiosk_config",
          [this](const httplib::Request& req, httplib::Response& res) -> CloudResult<Reply> {
            KIOSK_TRY(kiosk, authenticateKiosk(req));
            KIOSK_TRY(stored, store.kioskConfig(*kiosk));
            json config = kioskConfigToJson(*stored, cfg.minAmount, cfg.maxAmount);
            const std::string etag =
                "\"" + sha256Hex(config.dump(-1, ' ', false, json::error_handler_t::replace)).substr(0, 32) +
                "\"";
            res.set_header("ETag", etag);
            if (req.get_header_value("If-None-Match") == etag) {
              res.status = 304;
              return Reply{0, {}};
            }
            // Not part of the ETag: it follows from where the service runs, not from the store.
            config["receipt_base_url"] = publicBase() + "/receipt/";
            return Reply{200, std::move(config)};
          });

    // ---- payment provider
    route("POST", R"(/v1/payments/([a-z]+)/notify)", "payment_webhook",
          [this](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
            if (req.matches[1] != provider.name()) {
              return failWith(CloudError::NotFound, "no provider " + std::string(req.matches[1]));
            }
            WebhookRequest hook;
            for (const auto& [name, value] : req.headers) {
              std::string lower = name;
              for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
              hook.headers[lower] = value;
            }
            hook.body = req.body;
            KIOSK_TRY(event, provider.parseWebhook(hook, now()));
            KIOSK_TRY(result, store.recordPayment(*event, now()));
            metrics.count("kiosk_cloud_payments_total",
                          "outcome=\"" + std::string(outcomeName(result->outcome)) + "\"");
            spdlog::info("payment {} for order {}: {}", forLog(event->eventId), forLog(event->orderId),
                         outcomeName(result->outcome));
            return Reply{200, {{"result", outcomeName(result->outcome)}, {"order_id", result->orderId}}};
          });

    // The receipt behind the QR code on the kiosk's done screen; the order id (random, 96
    // bits) is the key, as on the pay page. Only paid orders have one.
    http->Get(R"(/receipt/([A-Za-z0-9_]+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto order = store.order(req.matches[1]);
      if (!order || (order->state != state::kPaid && order->state != state::kTokenIssued &&
                     order->state != state::kDelivered)) {
        res.status = 404;
        res.set_content(SimulatedProvider::resultPage("Not found", "No receipt for this order."),
                        "text/html; charset=utf-8");
        return;
      }
      res.set_content(receiptPage(*order, maskAccount(order->accountId)), "text/html; charset=utf-8");
    });
    http->Get(R"(/pay/([A-Za-z0-9_]+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto order = store.order(req.matches[1]);
      if (!order) {
        res.status = 404;
        res.set_content(SimulatedProvider::resultPage("Not found", "No such order."), "text/html");
        return;
      }
      res.set_content(SimulatedProvider::payPage(*order, maskAccount(order->accountId),
                                                 "/pay/" + order->id),
                      "text/html; charset=utf-8");
    });
    http->Post(R"(/pay/([A-Za-z0-9_]+))", [this](const httplib::Request& req, httplib::Response& res) {
      auto order = store.order(req.matches[1]);
      if (!order) {
        res.status = 404;
        res.set_content(SimulatedProvider::resultPage("Not found", "No such order."), "text/html");
        return;
      }
      const std::string action = req.get_param_value("action");
      if (action != "pay" && action != "decline") {
        res.status = 400;
        res.set_content(SimulatedProvider::resultPage("Bad request", "Press Pay or Decline."),
                        "text/html");
        return;
      }
      // The simulated provider's servers tell the cloud, through the signed webhook.
      auto sent = provider.deliver(
          provider.notification(*order, action == "pay" ? "SUCCESS" : "DECLINED", now()));
      if (!sent) {
        res.status = 502;
        res.set_content(SimulatedProvider::resultPage("Payment failed", sent.error().message),
                        "text/html");
        return;
      }
      res.set_content(SimulatedProvider::resultPage(
                          action == "pay" ? "Payment complete" : "Payment declined",
                          action == "pay" ? "You can return to the kiosk." : "Nothing was charged."),
                      "text/html; charset=utf-8");
    });

    // ---- operator API
    auto admin = [this](const std::string& method, const std::string& pattern, const std::string& name,
                        auto body) {
      route(method, pattern, name,
            [this, body](const httplib::Request& req, httplib::Response& res) -> CloudResult<Reply> {
              KIOSK_TRY(ok, authenticateAdmin(req));
              return body(req, res);
            });
    };
    // Read and checked here, stored by the store, answered with what was stored.
    auto creator = [this, admin]<class Request>(const std::string& path,
                                                CloudResult<Request> (*read)(const json&),
                                                CloudResult<bool> (Store::*create)(const Request&, std::int64_t)) {
      admin("POST", "/v1/admin/" + path, "admin_create_" + path,
            [this, read, create](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
              KIOSK_TRY(body, parseBody(req.body));
              KIOSK_TRY(request, read(*body));
              KIOSK_TRY(created, (store.*create)(*request, now()));
              return Reply{201, createdToJson(*request)};
            });
    };
    creator("tariffs", &readNewTariff, &Store::createTariff);
    creator("accounts", &readNewAccount, &Store::createAccount);
    creator("meters", &readNewMeter, &Store::createMeter);
    creator("cards", &readNewCard, &Store::createCard);
    creator("fees", &readNewFee, &Store::createFee);
    creator("kiosks", &readNewKiosk, &Store::createKiosk);
    creator("staff", &readNewStaff, &Store::createStaff);
    admin("POST", R"(/v1/admin/(accounts|cards|kiosks|staff|meters)/([A-Za-z0-9_.-]+)/status)",
          "admin_status", [this](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
            KIOSK_TRY(body, parseBody(req.body));
            const std::string table = req.matches[1];
            const std::string id = req.matches[2];
            KIOSK_TRY(status, readStatus(table, *body));
            KIOSK_TRY(result, store.setStatus(table, id, *status, now()));
            return Reply{200, {{"id", id}, {"status", *status}}};
          });
    admin("GET", "/v1/admin/orders", "admin_orders",
          [this](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
            int limit = req.has_param("limit") ? std::atoi(req.get_param_value("limit").c_str()) : 100;
            limit = std::clamp(limit, 1, 1000);
            const std::string stateFilter = req.get_param_value("state");
            const std::string kioskFilter = req.get_param_value("kiosk");
            if (!stateFilter.empty() && !isKnownState(stateFilter)) {
              return Unexpected<Failure>{bad("state must be an order state (CREATED, PAID, ...)")};
            }
            if (kioskFilter.size() > limits::kMaxIdLength || !isText(kioskFilter)) {
              return Unexpected<Failure>{bad("kiosk is not a kiosk id")};
            }
            KIOSK_TRY(list, store.listOrders(stateFilter, kioskFilter, limit));
            return Reply{200, orderListToJson(*list)};
          });
    admin("POST", R"(/v1/admin/orders/([A-Za-z0-9_]+)/refund)", "admin_refund",
          [this](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
            KIOSK_TRY(result, store.requestRefund(req.matches[1], now()));
            wakeSweeper();
            return Reply{200, orderToJson(*result)};
          });
    admin("GET", "/v1/admin/revenue", "admin_revenue",
          [this](const httplib::Request& req, httplib::Response&) -> CloudResult<Reply> {
            const std::string period = req.has_param("period") ? req.get_param_value("period") : "day";
            const std::string by = req.has_param("by") ? req.get_param_value("by") : "kiosk";
            if (period != "day" && period != "month") {
              return Unexpected<Failure>{bad("period: day|month")};
            }
            if (by != "kiosk" && by != "building") return Unexpected<Failure>{bad("by: kiosk|building")};
            const auto periodValue = period == "day" ? RevenuePeriod::Day : RevenuePeriod::Month;
            const auto group = by == "kiosk" ? RevenueGroup::Kiosk : RevenueGroup::Building;
            KIOSK_TRY(report, store.revenue(periodValue, group));
            return Reply{200, revenueToJson(*report, periodValue, group)};
          });
    admin("GET", "/v1/admin/reconciliation", "admin_reconciliation",
          [this](const httplib::Request&, httplib::Response&) -> CloudResult<Reply> {
            KIOSK_TRY(report, store.reconciliation(now()));
            return Reply{200, reconciliationToJson(*report)};
          });
    admin("GET", "/v1/admin/warnings", "admin_warnings",
          [this](const httplib::Request&, httplib::Response&) -> CloudResult<Reply> {
            KIOSK_TRY(report, store.consumptionWarnings());
            return Reply{200, warningsToJson(*report)};
          });
    installErrorReplies(*http);
  }

  void wakeSweeper() { sweepCv.notify_all(); }

  void sweepOnce() {
    auto expired = store.expireOrders(now());
    if (expired) {
      for (const auto& id : *expired) {
        metrics.count("kiosk_cloud_orders_expired_total");
        spdlog::info("order {} expired", id);
      }
    } else {
      spdlog::warn("sweeper: {}", expired.error().message);
    }
    // Claimed before the provider hears of it: of all the processes sweeping one database,
    // one asks for each refund. If this process dies in between, the claim lapses and another
    // sweep asks again, which the provider's idempotency by order id makes harmless.
    auto refunds = store.claimRefunds(refundClaimant, now(), kRefundClaimSeconds, 50);
    if (refunds) {
      for (const auto& order : *refunds) {
        auto sent = provider.refund(order);
        if (!sent) {
          spdlog::warn("refund of {} failed: {}", order.id, sent.error().message);
          (void)store.releaseRefund(order.id, refundClaimant);
          continue;
        }
        auto done = store.finishRefund(order.id, refundClaimant, now());
        if (done) {
          metrics.count("kiosk_cloud_refunds_total");
        } else {
          spdlog::warn("refund of {} sent, not recorded: {}", order.id, done.error().message);
        }
      }
    } else {
      spdlog::warn("sweeper: {}", refunds.error().message);
    }
    (void)store.purgeNonces(now() - 2 * cfg.maxSkewSeconds - 60);
  }

  void sweepLoop() {
    while (!stopping) {
      sweepOnce();
      std::unique_lock lock(sweepMutex);
      sweepCv.wait_for(lock, std::chrono::milliseconds(cfg.sweepIntervalMs),
                       [this] { return stopping.load(); });
    }
  }
};

Server::Server(const ServerConfig& config, Store& store, CardFormat* format,
               SimulatedProvider& provider, const platform::Clock& clock)
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
  impl.http->set_socket_options([&impl](socket_t sock) {
    httplib::default_socket_options(sock);
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
                             std::to_string(impl.cfg.port));
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
