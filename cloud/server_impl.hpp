#pragma once
// Server's insides, shared by the files that implement it: server.cpp (listening, health and
// metrics), server_auth.cpp, server_kiosk_routes.cpp, server_operator_routes.cpp,
// server_provider_routes.cpp and server_sweeper.cpp. Only those include it.

#include "protocol/signing.hpp"
#include "cloud/http_layer.hpp"
#include "cloud/metrics.hpp"
#include "cloud/server.hpp"
#include "protocol/text.hpp"
#include "cloud/waiters.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace kiosk::cloud {

// What a route answers: a status and a JSON body (status 0: the handler answered itself).
struct Reply {
  int status = 200;
  nlohmann::json body;
};

inline Failure bad(const std::string& message) { return {CloudError::BadRequest, message}; }

struct Server::Impl {
  using json = nlohmann::json;

  ServerConfig cfg;
  Store& store;
  CardFormat* format;
  PaymentProvider& provider;
  const platform::Clock& clock;
  std::unique_ptr<http::Server> http;
  Metrics metrics;
  // Shared with the database's listener thread, which may outlive this server by a moment.
  std::shared_ptr<Waiters> waiters = std::make_shared<Waiters>();
  std::thread sweeper;
  std::atomic<bool> stopping{false};
  std::mutex sweepMutex;
  std::condition_variable sweepCv;
  // This process's name on the refunds it claims.
  const std::string refundClaimant = "sweeper-" + protocol::randomHex(8);
  int port = 0;
  std::mutex authMutex;
  std::map<std::string, std::pair<KioskAuth, std::chrono::steady_clock::time_point>> authCache;

  Impl(const ServerConfig& config, Store& s, CardFormat* f, PaymentProvider& p,
       const platform::Clock& c)
      : cfg(config), store(s), format(f), provider(p), clock(c) {}

  std::int64_t now() const { return clock.unixSeconds(); }

  static void sendJson(http::Response& res, int status, const json& body);
  static void sendError(http::Response& res, const Failure& failure);

  // Registers a page (HTML or text) whose handler fills the response itself.
  template <class Handler>
  void page(const std::string& method, const std::string& pattern, Handler handler) {
    http->route(method, pattern, [handler](http::Request& req, http::Responder respond) {
      http::Response res;
      handler(req, res);
      respond(std::move(res));
    });
  }

  // The answer for a route's result: its JSON, or its failure (logged).
  static void answerWith(http::Response& res, const CloudResult<Reply>& reply, const std::string& method,
                         const std::string& path) {
    if (reply) {
      if (reply->status != 0) sendJson(res, reply->status, reply->body);
      return;
    }
    sendError(res, reply.error());
    if (reply.error().error == CloudError::Internal || reply.error().error == CloudError::Unavailable) {
      spdlog::error("{} {}: {} {}", method, protocol::forLog(path), errorCode(reply.error().error),
                    protocol::forLog(reply.error().message, 1000));
    } else {
      spdlog::info("{} {}: {} {}", method, protocol::forLog(path), errorCode(reply.error().error),
                   protocol::forLog(reply.error().message, 1000));
    }
  }

  // Registers a route whose handler returns JSON or a failure; counts and logs every call.
  template <class Handler>
  void route(const std::string& method, const std::string& pattern, const std::string& name,
             Handler handler) {
    http->route(method, pattern, [this, name, handler](http::Request& req, http::Responder respond) {
      const auto started = std::chrono::steady_clock::now();
      http::Response res;
      const CloudResult<Reply> reply = handler(req, res);
      answerWith(res, reply, req.method, req.path);
      metrics.request(name, res.status,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      respond(std::move(res));
    });
  }

  // What a parked route calls, once, from any thread, with its answer.
  using Finish = std::function<void(CloudResult<Reply>)>;
  // A route whose answer may wait (a long poll) without holding a thread: its handler gets
  // a Finish to call when the answer is ready. Counted and logged as route()'s.
  template <class Handler>
  void parkedRoute(const std::string& method, const std::string& pattern, const std::string& name,
                   Handler handler) {
    http->route(method, pattern, [this, name, handler](http::Request& req, http::Responder respond) {
      auto responder = std::make_shared<http::Responder>(std::move(respond));
      Finish finish = [this, name, responder, started = std::chrono::steady_clock::now(), method = req.method,
                       path = req.path](CloudResult<Reply> reply) {
        http::Response res;
        answerWith(res, reply, method, path);
        metrics.request(name, res.status,
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        (*responder)(std::move(res));
      };
      handler(req, std::move(finish));
    });
  }

  // A long poll parked on an order: answered when the order leaves `since`, at `deadline`, or
  // when the service stops (server_kiosk_routes.cpp).
  struct Poll {
    std::string orderId;
    std::string kioskId;
    std::string since;
    Finish finish;
    std::mutex mutex;
    bool done = false;
    bool subscribed = false;  // to the order's next change
    bool expired = false;     // the wait asked for is over
  };
  void recheck(const std::shared_ptr<Poll>& poll);

  // Health, metrics and every route below (server.cpp).
  void registerRoutes();
  // Where residents' phones reach this service (QR links): the configured public URL, else
  // the address it listens on.
  std::string publicBase() const;

  // ---- request authentication (server_auth.cpp)
  // Checks a kiosk request's signature, timestamp and nonce format. The nonce is not yet
  // spent: authenticateKiosk() spends it, or the store inside the request's own transaction.
  CloudResult<KioskCaller> verifyKiosk(const http::Request& req);
  // A kiosk request that spends its nonce at once; the kiosk's id.
  CloudResult<std::string> authenticateKiosk(const http::Request& req);
  // For requests whose nonce travels in their own transaction: a refused one (its transaction
  // rolled back, or it never reached the store) still spends it, so a replay gets no second try.
  template <class Work>
  CloudResult<Reply> withNonce(const http::Request& req, Work work) {
    KIOSK_TRY(caller, verifyKiosk(req));
    CloudResult<Reply> reply = work(*caller);
    if (!reply && reply.error().error != CloudError::ReplayedNonce) {
      // A refused request's nonce is spent too; if it was spent already, this is a replay,
      // whatever the refusal (a body refused before the work's transaction saw the nonce).
      auto fresh = store.rememberNonce(caller->kioskId, caller->nonce, now());
      if (fresh && !*fresh) return failWith(CloudError::ReplayedNonce, "nonce was already used");
    }
    return reply;
  }
  CloudResult<KioskAuth> cachedKioskAuth(const std::string& kioskId);
  CloudResult<bool> authenticateAdmin(const http::Request& req);

  // ---- kiosk API (server_kiosk_routes.cpp)
  void registerKioskRoutes();
  CloudResult<Order> kioskOrder(const std::string& kioskId, const std::string& orderId);
  CloudResult<Reply> createOrder(const http::Request& req, const KioskCaller& caller);
  // An order as kiosks read it: with its QR URL while it waits for payment.
  json orderReply(const Order& order);

  // ---- the payment provider's webhook, the pay page and the receipt (server_provider_routes.cpp)
  void registerProviderRoutes();

  // ---- operator API (server_operator_routes.cpp)
  void registerOperatorRoutes();

  // ---- the sweeper: order expiry, refunds, old nonces (server_sweeper.cpp)
  void wakeSweeper();
  void sweepOnce();
  void sweepLoop();
};

}  // namespace kiosk::cloud
