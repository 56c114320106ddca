#include "cloud/api_json.hpp"
#include "cloud/request_json.hpp"
#include "cloud/server_impl.hpp"
#include "protocol/masking.hpp"
#include "protocol/paths.hpp"
#include "protocol/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

// The kiosk API: card lookup, orders (create, long-poll, cancel, write script, delivery),
// journal upload, meter readings and the kiosk's configuration. Every request is signed.

namespace kiosk::cloud {
namespace {

using nlohmann::json;

}  // namespace

CloudResult<Order> Server::Impl::kioskOrder(const std::string& kioskId, const std::string& orderId) {
  KIOSK_TRY(order, store.order(orderId));
  if (order->kioskId != kioskId) {
    return failWith(CloudError::ForeignOrder, "order belongs to another kiosk");
  }
  return order;
}

CloudResult<Reply> Server::Impl::createOrder(const http::Request& req, const KioskCaller& caller) {
  KIOSK_TRY(body, parseBody(req.body));
  KIOSK_TRY(key, stringField(*body, "idempotency_key"));
  KIOSK_TRY(card, stringField(*body, "card_number"));
  KIOSK_TRY(amount, integerField(*body, "amount"));
  KIOSK_TRY(challenge, stringField(*body, "challenge"));
  if (key->size() > 64) return Unexpected<Failure>{bad("idempotency_key is too long")};
  if (!protocol::isHexOf(*challenge, 16)) {
    return failWith(CloudError::BadChallenge, "challenge must be 8 bytes of hex");
  }
  CreateOrderRequest request{caller.kioskId, *key,        *card,       *amount,
                             *challenge,     protocol::sha256Hex(req.body), provider.name(),
                             cfg.minAmount,  cfg.maxAmount,       cfg.orderTtlSeconds};
  KIOSK_TRY(created, store.createOrder(request, now(), caller));
  if (created->created) metrics.count("kiosk_cloud_orders_created_total");
  json out = orderReply(created->order);
  out["fee_items"] = feeItemsToJson(created->feeItems);
  return Reply{created->created ? 201 : 200, out};
}

nlohmann::json Server::Impl::orderReply(const Order& order) {
  json out = orderToJson(order);
  if (order.state == state::kCreated) {
    auto url = provider.paymentUrl(order);
    if (url) out["qr_url"] = *url;
  }
  return out;
}

// Reads the parked poll's order again and answers it when the order moved on, the wait is over
// or the service stops. It subscribes to the order's next change before reading, so a change
// is either seen by this read or wakes the next one: no periodic re-reading is needed (a
// database that may have lost notifications wakes every poll: Waiters::changed("")).
void Server::Impl::recheck(const std::shared_ptr<Poll>& poll) {
  bool subscribe = false;
  {
    std::lock_guard lock(poll->mutex);
    if (poll->done) return;
    subscribe = !poll->subscribed;
    poll->subscribed = true;
  }
  if (subscribe) {
    waiters->whenChanged(poll->orderId, [this, poll] {
      {
        std::lock_guard lock(poll->mutex);
        poll->subscribed = false;
      }
      http->after(std::chrono::milliseconds(0), [this, poll] { recheck(poll); });
    });
  }
  auto fresh = store.order(poll->orderId);
  bool expired = false;
  {
    std::lock_guard lock(poll->mutex);
    expired = poll->expired;
  }
  if (!fresh || fresh->state != poll->since || expired || stopping) {
    {
      std::lock_guard lock(poll->mutex);
      if (poll->done) return;
      poll->done = true;
    }
    metrics.waiting(-1);
    if (!fresh) return poll->finish(Unexpected<Failure>{fresh.error()});
    return poll->finish(Reply{200, orderReply(*fresh)});
  }
}

void Server::Impl::registerKioskRoutes() {
  route("GET", std::string(protocol::kCardsPath) + "/([0-9]{1,19})", "card_lookup",
        [this](const http::Request& req, http::Response&) -> CloudResult<Reply> {
          KIOSK_TRY(kiosk, authenticateKiosk(req));
          KIOSK_TRY(summary, store.cardSummary(req.matches[1], now()));
          if (summary->account) summary->account->resident = protocol::maskName(summary->account->resident);
          return Reply{200, protocol::encodeCardSummary(*summary)};
        });

  route("POST", protocol::kOrdersPath, "order_create",
        [this](const http::Request& req, http::Response&) -> CloudResult<Reply> {
          return withNonce(req, [&](const KioskCaller& caller) { return createOrder(req, caller); });
        });

  // Long poll: answered as soon as the state differs from what the kiosk last saw, parked
  // without a thread meanwhile.
  parkedRoute("GET", std::string(protocol::kOrdersPath) + "/([A-Za-z0-9_]+)", "order_state",
              [this](const http::Request& req, Finish finish) {
                auto kiosk = authenticateKiosk(req);
                if (!kiosk) return finish(Unexpected<Failure>{kiosk.error()});
                const std::string id = req.matches[1];
                std::int64_t wait = 0;
                if (req.hasParam("wait")) {
                  wait = std::clamp<std::int64_t>(std::atoll(req.param("wait").c_str()), 0,
                                                  cfg.maxLongPollSeconds);
                }
                auto order = kioskOrder(*kiosk, id);
                if (!order) return finish(Unexpected<Failure>{order.error()});
                const std::string since = req.hasParam("since") ? req.param("since") : order->state;
                if (wait == 0 || order->state != since || stopping) {
                  return finish(Reply{200, orderReply(*order)});
                }
                auto poll = std::make_shared<Poll>();
                poll->orderId = id;
                poll->kioskId = *kiosk;
                poll->since = since;
                poll->finish = std::move(finish);
                metrics.waiting(1);
                recheck(poll);
                // The wait's end answers the poll with the order as it is then.
                http->after(std::chrono::seconds(wait), [this, poll] {
                  {
                    std::lock_guard lock(poll->mutex);
                    poll->expired = true;
                  }
                  recheck(poll);
                });
              });

  route("POST", std::string(protocol::kOrdersPath) + "/([A-Za-z0-9_]+)/" + protocol::kCancelAction, "order_cancel",
        [this](const http::Request& req, http::Response&) -> CloudResult<Reply> {
          KIOSK_TRY(kiosk, authenticateKiosk(req));
          KIOSK_TRY(order, store.cancelOrder(*kiosk, req.matches[1], now()));
          return Reply{200, orderReply(*order)};
        });

  route("POST", std::string(protocol::kOrdersPath) + "/([A-Za-z0-9_]+)/" + protocol::kScriptAction, "order_script",
        [this](const http::Request& req, http::Response&) -> CloudResult<Reply> {
          return withNonce(req, [&](KioskCaller caller) -> CloudResult<Reply> {
            KIOSK_TRY(body, parseBody(req.body));
            KIOSK_TRY(card, stringField(*body, "card_number"));
            KIOSK_TRY(challenge, stringField(*body, "challenge"));
            if (!protocol::isHexOf(*challenge, 16)) {
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
                          {"delivery_nonce", token->deliveryNonce},
                          {"script", *script}}};
          });
        });

  route("POST", std::string(protocol::kOrdersPath) + "/([A-Za-z0-9_]+)/" + protocol::kDeliveredAction, "order_delivered",
        [this](const http::Request& req, http::Response&) -> CloudResult<Reply> {
          return withNonce(req, [&](KioskCaller caller) -> CloudResult<Reply> {
            KIOSK_TRY(body, parseBody(req.body));
            KIOSK_TRY(card, stringField(*body, "card_number"));
            KIOSK_TRY(sequence, integerField(*body, "sequence"));
            DeliveryProof proof;
            if (body->contains("proof")) {
              const auto& given = (*body)["proof"];
              if (!given.is_object()) return Unexpected<Failure>{bad("proof must be an object")};
              proof.cardSignature = optStringField(given, "card_signature");
              proof.meterReturn = optStringField(given, "meter_return");
            }
            if (format == nullptr) return failWith(CloudError::CardFormat, "no vending key loaded");
            caller.cardNumber = *card;
            KIOSK_TRY(done, store.confirmDelivery(req.matches[1], *sequence, proof, *format, now(), caller));
            metrics.count("kiosk_cloud_orders_delivered_total");
            return Reply{200, orderReply(*done)};
          });
        });

  route("POST", protocol::kJournalPath, "journal_upload",
        [this](const http::Request& req, http::Response&) -> CloudResult<Reply> {
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

  route("POST", protocol::kReadingsPath, "meter_reading",
        [this](const http::Request& req, http::Response&) -> CloudResult<Reply> {
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

  route("GET", protocol::kConfigPath, "kiosk_config",
        [this](const http::Request& req, http::Response& res) -> CloudResult<Reply> {
          KIOSK_TRY(kiosk, authenticateKiosk(req));
          KIOSK_TRY(stored, store.kioskConfig(*kiosk));
          json config = kioskConfigToJson(*stored, cfg.minAmount, cfg.maxAmount,
                                          {cfg.servicePhone, cfg.serviceHours, cfg.timeZone});
          const std::string etag =
              "\"" + protocol::sha256Hex(config.dump(-1, ' ', false, json::error_handler_t::replace)).substr(0, 32) +
              "\"";
          res.setHeader("ETag", etag);
          if (req.header("If-None-Match") == etag) {
            res.status = 304;
            return Reply{0, {}};
          }
          // Not part of the ETag: it follows from where the service runs, not from the store.
          protocol::setReceiptBaseUrl(config, publicBase() + "/receipt/");
          return Reply{200, std::move(config)};
        });
}

}  // namespace kiosk::cloud
