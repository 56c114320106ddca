#include "cloud/store.hpp"

#include "cloud/crypto.hpp"
#include "cloud/tariff.hpp"
#include "platform/api_limits.hpp"
#include "platform/time_format.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <ctime>
#include <functional>
#include <map>

namespace kiosk::cloud {
namespace {

using nlohmann::json;
namespace limits = platform::api_limits;

// Propagates a failed result out of the calling function.
#define KIOSK_TRY(var, expr)                                   \
  auto var = (expr);                                           \
  if (!var) return Unexpected<Failure> { var.error() }

CloudResult<SqlResult> run(SqlConnection& conn, std::string_view sql,
                           const std::vector<SqlValue>& params = {}) {
  auto result = conn.exec(sql, params);
  if (!result) return Unexpected<Failure>{toFailure(result.error())};
  return std::move(result).value();
}

CloudResult<std::vector<SqlResult>> runAll(SqlConnection& conn,
                                           const std::vector<SqlStatement>& statements) {
  auto results = conn.execAll(statements);
  if (!results) return Unexpected<Failure>{toFailure(results.error())};
  return std::move(results).value();
}

// A write whose result is not needed: on PostgreSQL it travels with the next statement or
// with COMMIT instead of costing a round trip of its own.
CloudResult<bool> runLater(SqlConnection& conn, std::string_view sql, std::vector<SqlValue> params) {
  auto queued = conn.execLater(sql, std::move(params));
  if (!queued) return Unexpected<Failure>{toFailure(queued.error())};
  return true;
}

constexpr const char* kRememberNonce =
    "INSERT INTO nonces (kiosk_id, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

// One statement that writes, committed on its own.
CloudResult<SqlResult> writeOnce(Database& db, std::string_view sql,
                                 const std::vector<SqlValue>& params = {}) {
  auto result = db.execWrite(sql, params);
  if (!result) return Unexpected<Failure>{toFailure(result.error())};
  return std::move(result).value();
}

CloudResult<SqlResult> runOnce(Database& db, std::string_view sql,
                               const std::vector<SqlValue>& params = {}) {
  auto lease = db.acquire();
  return run(*lease, sql, params);
}

constexpr const char* kOrderColumns =
    "id, kiosk_id, card_number, account_id, meter_number, origin, origin_order_id, amount, "
    "fee_amount, credit_amount, state, reason, provider, created_at, expires_at, paid_at, "
    "token_issued_at, delivered_at, updated_at";

Order orderFromRow(const SqlRow& row) {
  Order o;
  o.id = row.text(0);
  o.kioskId = row.text(1);
  o.cardNumber = row.text(2);
  o.accountId = row.text(3);
  o.meterNumber = row.text(4);
  o.origin = row.text(5);
  o.originOrderId = row.text(6);
  o.amount = row.integer(7);
  o.feeAmount = row.integer(8);
  o.creditAmount = row.integer(9);
  o.state = row.text(10);
  o.reason = row.text(11);
  o.provider = row.text(12);
  o.createdAt = row.integer(13);
  o.expiresAt = row.integer(14);
  o.paidAt = row.optInteger(15);
  o.tokenIssuedAt = row.optInteger(16);
  o.deliveredAt = row.optInteger(17);
  o.updatedAt = row.integer(18);
  return o;
}

// The order's row, locked until the transaction ends on PostgreSQL so that concurrent
// requests for one order take turns (SQLite's write transactions already do).
std::string lockedOrderQuery(Dialect dialect) {
  return std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id = $1" +
         (dialect == Dialect::Postgres ? " FOR UPDATE" : "");
}

// The first statement of a signed request's transaction: records its nonce.
void addNonce(std::vector<SqlStatement>& statements, const KioskCaller& caller, std::int64_t now) {
  if (!caller.nonce.empty()) {
    statements.push_back({kRememberNonce, {caller.kioskId, caller.nonce, now}});
  }
}

CloudResult<bool> checkNonce(const KioskCaller& caller, const std::vector<SqlResult>& results) {
  if (!caller.nonce.empty() && results.front().affected != 1) {
    return failWith(CloudError::ReplayedNonce, "nonce was already used");
  }
  return true;
}

// The order a kiosk may write to a card: its own, or any order whose credit is pending on
// the card that is in front of it (written at the next insertion at any kiosk).
CloudResult<bool> checkDeliverable(const KioskCaller& caller, const Order& order) {
  if (caller.kioskId.empty()) return true;
  if (order.cardNumber != caller.cardNumber) {
    return failWith(CloudError::BadRequest, "order is for another card");
  }
  const bool pending = order.state == state::kPaid || order.state == state::kTokenIssued ||
                       order.state == state::kDelivered;
  if (order.kioskId != caller.kioskId && !pending) {
    return failWith(CloudError::ForeignOrder, "order belongs to another kiosk");
  }
  return true;
}

CloudResult<std::optional<Order>> findOrder(SqlConnection& conn, const std::string& id) {
  KIOSK_TRY(rows, run(conn, std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id = $1",
                      {id}));
  if (rows->rows.empty()) return std::optional<Order>{};
  return std::optional<Order>{orderFromRow(rows->rows.front())};
}

CloudResult<Order> requireOrder(SqlConnection& conn, const std::string& id) {
  KIOSK_TRY(found, findOrder(conn, id));
  if (!*found) return failWith(CloudError::NotFound, "no order " + id);
  return std::move(**found);
}

bool isDigits(const std::string& text) {
  return !text.empty() && text.size() <= 19 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Fields of operator requests.
CloudResult<std::string> needString(const json& body, const char* key) {
  if (!body.contains(key) || !body[key].is_string() || body[key].get<std::string>().empty()) {
    return failWith(CloudError::BadRequest, std::string(key) + " must be a non-empty string");
  }
  return body[key].get<std::string>();
}
std::string optString(const json& body, const char* key, std::string fallback = "") {
  if (body.contains(key) && body[key].is_string()) return body[key].get<std::string>();
  return fallback;
}
CloudResult<std::int64_t> needInteger(const json& body, const char* key) {
  if (!body.contains(key) || !body[key].is_number_integer()) {
    return failWith(CloudError::BadRequest, std::string(key) + " must be an integer");
  }
  return body[key].get<std::int64_t>();
}

std::string dayString(std::int64_t unixSeconds) {
  return platform::formatTime(unixSeconds, platform::kUtcZone, platform::kDatePattern);
}

// Notifies long-polling readers of an order, inside the transaction that changed it.
CloudResult<bool> announce(Database& db, SqlConnection& conn, const std::string& orderId) {
  auto sent = db.notify(conn, Store::kOrderChannel, orderId);
  if (!sent) return Unexpected<Failure>{toFailure(sent.error())};
  return true;
}

struct FeeOwed {
  std::string id;
  std::string item;
  std::string description;
  std::int64_t owed = 0;
};

CloudResult<std::vector<FeeOwed>> feesOwed(SqlConnection& conn, const std::string& accountId) {
  KIOSK_TRY(rows, run(conn,
                      "SELECT id, item, description, amount - paid FROM fees WHERE "
                      "account_id = $1 AND amount > paid ORDER BY created_at, id LIMIT " +
                          std::to_string(limits::kMaxFeesOwed),
                      {accountId}));
  std::vector<FeeOwed> fees;
  for (const auto& row : rows->rows) {
    fees.push_back({row.text(0), row.text(1), row.text(2), row.integer(3)});
  }
  return fees;
}

// The fee items an order showed when it was created, as its creation answered them.
CloudResult<std::vector<json>> orderFeeItems(SqlConnection& conn, const std::string& orderId) {
  KIOSK_TRY(rows, run(conn,
                      "SELECT i.fee_id, f.item, i.amount FROM order_fee_items i JOIN fees f ON "
                      "f.id = i.fee_id WHERE i.order_id = $1 ORDER BY f.created_at, f.id",
                      {orderId}));
  std::vector<json> items;
  for (const auto& row : rows->rows) {
    items.push_back({{"fee_id", row.text(0)}, {"item", row.text(1)}, {"amount", row.integer(2)}});
  }
  return items;
}

}  // namespace

bool isFinalState(const std::string& s) {
  return s == state::kDelivered || s == state::kExpired || s == state::kCanceled ||
         s == state::kRefunded;
}

bool isKnownState(const std::string& s) {
  return isFinalState(s) || s == state::kCreated || s == state::kPaid || s == state::kTokenIssued ||
         s == state::kRefundPending;
}

std::string_view outcomeName(PaymentOutcome outcome) {
  switch (outcome) {
    case PaymentOutcome::Applied: return "APPLIED";
    case PaymentOutcome::LateCredit: return "LATE_CREDIT";
    case PaymentOutcome::LateRefund: return "LATE_REFUND";
    case PaymentOutcome::Duplicate: return "DUPLICATE";
    case PaymentOutcome::Declined: return "DECLINED";
    case PaymentOutcome::Ignored: return "IGNORED";
    case PaymentOutcome::AmountMismatch: return "AMOUNT_MISMATCH";
  }
  return "IGNORED";
}

json orderToJson(const Order& o) {
  json out{{"order_id", o.id},
           {"kiosk_id", o.kioskId},
           {"card_number", o.cardNumber},
           {"meter_number", o.meterNumber},
           {"origin", o.origin},
           {"amount", o.amount},
           {"split", {{"fees", o.feeAmount}, {"credit", o.creditAmount}}},
           {"state", o.state},
           {"created_at", o.createdAt},
           {"expires_at", o.expiresAt},
           {"updated_at", o.updatedAt}};
  if (!o.reason.empty()) out["reason"] = o.reason;
  if (!o.originOrderId.empty()) out["origin_order_id"] = o.originOrderId;
  if (o.paidAt) out["paid_at"] = *o.paidAt;
  if (o.tokenIssuedAt) out["token_issued_at"] = *o.tokenIssuedAt;
  if (o.deliveredAt) out["delivered_at"] = *o.deliveredAt;
  return out;
}

// ---------------------------------------------------------------------------------------
// Kiosk authentication

CloudResult<KioskAuth> Store::kioskAuth(const std::string& kioskId) {
  KIOSK_TRY(rows, runOnce(m_db, "SELECT secret, status FROM kiosks WHERE id = $1", {kioskId}));
  if (rows->rows.empty()) return failWith(CloudError::UnknownKiosk, "unknown kiosk " + kioskId);
  return KioskAuth{rows->rows[0].text(0), rows->rows[0].text(1)};
}

CloudResult<bool> Store::rememberNonce(const std::string& kioskId, const std::string& nonce,
                                       std::int64_t now) {
  // The primary key makes this the one place that decides, across every server process.
  KIOSK_TRY(rows, writeOnce(m_db, kRememberNonce, {kioskId, nonce, now}));
  return rows->affected == 1;
}

CloudResult<std::int64_t> Store::purgeNonces(std::int64_t olderThan) {
  KIOSK_TRY(rows, writeOnce(m_db, "DELETE FROM nonces WHERE seen_at < $1", {olderThan}));
  return rows->affected;
}

// ---------------------------------------------------------------------------------------
// Card lookup

CloudResult<json> Store::cardSummary(const std::string& cardNumber, std::int64_t now) {
  auto lease = m_db.acquire();
  auto& conn = *lease;
  KIOSK_TRY(cards, run(conn,
                       "SELECT c.number, c.kind, c.status, c.account_id, c.meter_number, "
                       "a.resident, a.building, a.room, a.household, a.status, a.fee_policy, "
                       "m.utility, m.tariff_id, m.key_version "
                       "FROM cards c LEFT JOIN accounts a ON a.id = c.account_id "
                       "LEFT JOIN meters m ON m.number = c.meter_number WHERE c.number = $1",
                       {cardNumber}));
  if (cards->rows.empty()) return failWith(CloudError::UnknownCard, "unknown card " + cardNumber);
  const auto& row = cards->rows[0];
  const std::string status = row.text(2);
  if (status == "BLOCKED") return failWith(CloudError::CardBlocked, "card is blocked");
  if (status == "LOST") return failWith(CloudError::CardLost, "card was reported lost");
  json out{{"card", {{"number", row.text(0)}, {"kind", row.text(1)}, {"status", status}}}};
  if (row.text(1) == "staff") return out;
  const std::string accountId = row.text(3);
  const std::string meter = row.text(4);
  if (row.text(9) == "BLOCKED") return failWith(CloudError::CardBlocked, "account is blocked");
  // Residents' names are shown masked on a lobby screen.
  std::string resident = row.text(5);
  // The first character whole, however many UTF-8 bytes it takes.
  const auto lead = static_cast<unsigned char>(resident.empty() ? 0 : resident[0]);
  const std::size_t first = (lead & 0xE0U) == 0xC0U ? 2 : (lead & 0xF0U) == 0xE0U ? 3 : (lead & 0xF8U) == 0xF0U ? 4 : 1;
  std::string masked = resident.empty() ? "" : resident.substr(0, std::min(first, resident.size())) + "**";
  out["account"] = {{"id", accountId},       {"resident", masked},      {"building", row.text(6)},
                    {"room", row.text(7)},   {"household", row.text(8)}, {"fee_policy", row.text(10)}};
  out["meter"] = {{"number", meter}, {"utility", row.text(11)}, {"tariff_id", row.text(12)},
                  {"key_version", row.integer(13)}};
  KIOSK_TRY(reading, run(conn,
                         "SELECT reading_at, remaining, consumption, flags, last_sequence "
                         "FROM meter_readings WHERE meter_number = $1 ORDER BY reading_at DESC LIMIT 1",
                         {meter}));
  if (!reading->rows.empty()) {
    const auto& r = reading->rows[0];
    out["meter"]["last_reading"] = {{"at", r.integer(0)},          {"remaining", r.integer(1)},
                                    {"consumption", r.integer(2)}, {"flags", r.integer(3)},
                                    {"last_sequence", r.integer(4)}};
  }
  KIOSK_TRY(fees, feesOwed(conn, accountId));
  std::int64_t total = 0;
  out["fees"] = json::array();
  for (const auto& fee : *fees) {
    out["fees"].push_back({{"id", fee.id}, {"item", fee.item}, {"description", fee.description},
                           {"owed", fee.owed}});
    total += fee.owed;
  }
  out["fees_total"] = total;
  // Credit paid for but not yet on the card, from any kiosk: written at this insertion.
  KIOSK_TRY(pending, run(conn,
                         std::string("SELECT ") + kOrderColumns +
                             " FROM orders WHERE meter_number = $1 AND card_number = $2 AND state IN "
                             "('PAID', 'TOKEN_ISSUED') AND credit_amount > 0 ORDER BY created_at LIMIT " +
                             std::to_string(limits::kMaxOrderList),
                         {meter, cardNumber}));
  out["pending"] = json::array();
  for (const auto& p : pending->rows) {
    const Order o = orderFromRow(p);
    out["pending"].push_back({{"order_id", o.id}, {"credit", o.creditAmount}, {"state", o.state}});
  }
  KIOSK_TRY(recent, run(conn,
                        "SELECT id, amount, credit_amount, state, created_at FROM orders WHERE "
                        "account_id = $1 AND paid_at IS NOT NULL ORDER BY created_at DESC LIMIT 5",
                        {accountId}));
  out["recent"] = json::array();
  for (const auto& r : recent->rows) {
    out["recent"].push_back({{"order_id", r.text(0)}, {"amount", r.integer(1)},
                             {"credit", r.integer(2)}, {"state", r.text(3)}, {"at", r.integer(4)}});
  }
  (void)now;
  return out;
}

// ---------------------------------------------------------------------------------------
// Orders

CloudResult<CreatedOrder> Store::createOrder(const CreateOrderRequest& req, std::int64_t now,
                                             const KioskCaller& caller) {
  auto attempt = [&]() {
    return transact<CreatedOrder>(m_db, [&](SqlConnection& conn) -> CloudResult<CreatedOrder> {
      // Everything the decision needs, in one round trip.
      std::vector<SqlStatement> reads;
      addNonce(reads, caller, now);
      const std::size_t first = reads.size();
      reads.push_back({std::string("SELECT ") + kOrderColumns +
                           ", request_hash FROM orders WHERE kiosk_id = $1 AND idempotency_key = $2",
                       {req.kioskId, req.idempotencyKey}});
      reads.push_back({"SELECT c.status, c.kind, c.account_id, c.meter_number, a.status, "
                       "a.fee_policy, a.fee_share_pct, m.status FROM cards c "
                       "LEFT JOIN accounts a ON a.id = c.account_id "
                       "LEFT JOIN meters m ON m.number = c.meter_number WHERE c.number = $1",
                       {req.cardNumber}});
      reads.push_back({"SELECT id, item, description, amount - paid FROM fees WHERE account_id = "
                       "(SELECT account_id FROM cards WHERE number = $1) AND amount > paid "
                       "ORDER BY created_at, id LIMIT " + std::to_string(limits::kMaxFeeItems),
                       {req.cardNumber}});
      KIOSK_TRY(results, runAll(conn, reads));
      KIOSK_TRY(fresh, checkNonce(caller, *results));
      const auto& existing = (*results)[first];
      const auto& cards = (*results)[first + 1];
      if (!existing.rows.empty()) {
        if (existing.rows[0].text(19) != req.requestHash) {
          return failWith(CloudError::IdempotencyConflict,
                          "idempotency key was used for a different request");
        }
        CreatedOrder again{orderFromRow(existing.rows[0]), false, {}};
        KIOSK_TRY(items, orderFeeItems(conn, again.order.id));
        again.feeItems = std::move(*items);
        return again;
      }
      if (cards.rows.empty()) return failWith(CloudError::UnknownCard, "unknown card");
      const auto& card = cards.rows[0];
      if (card.text(0) == "BLOCKED" || card.text(4) == "BLOCKED" || card.text(7) == "BLOCKED") {
        return failWith(CloudError::CardBlocked, "card, account or meter is blocked");
      }
      if (card.text(0) == "LOST") return failWith(CloudError::CardLost, "card was reported lost");
      if (card.text(1) != "resident" || card.isNull(2) || card.isNull(3)) {
        return failWith(CloudError::BadRequest, "card cannot be recharged");
      }
      if (req.amount < req.minAmount || req.amount > req.maxAmount) {
        return failWith(CloudError::AmountOutOfLimits,
                        "amount must be between " + std::to_string(req.minAmount) + " and " +
                            std::to_string(req.maxAmount));
      }
      const std::string accountId = card.text(2);
      std::vector<FeeOwed> fees;
      for (const auto& row : (*results)[first + 2].rows) {
        fees.push_back({row.text(0), row.text(1), row.text(2), row.integer(3)});
      }
      std::int64_t owed = 0;
      for (const auto& fee : fees) owed += fee.owed;
      const std::string policy = card.text(5);
      std::int64_t feePart = 0;
      if (policy == "FEES_FIRST") {
        feePart = std::min(owed, req.amount);
      } else if (policy == "PERCENT") {
        feePart = std::min(owed, req.amount * std::clamp<std::int64_t>(card.integer(6), 0, 100) / 100);
      }
      CreatedOrder result;
      result.created = true;
      Order& o = result.order;
      o.id = "ord_" + randomHex(12);
      o.kioskId = req.kioskId;
      o.cardNumber = req.cardNumber;
      o.accountId = accountId;
      o.meterNumber = card.text(3);
      o.origin = "KIOSK";
      o.amount = req.amount;
      o.feeAmount = feePart;
      o.creditAmount = req.amount - feePart;
      o.state = state::kCreated;
      o.provider = req.provider;
      o.createdAt = now;
      o.expiresAt = now + req.ttlSeconds;
      o.updatedAt = now;
      // Leaves with COMMIT; a concurrent request with the same key makes it fail as Conflict.
      KIOSK_TRY(inserted,
                runLater(conn,
                         "INSERT INTO orders (id, kiosk_id, idempotency_key, request_hash, card_number, "
                         "account_id, meter_number, origin, amount, fee_amount, credit_amount, state, "
                         "provider, challenge, created_at, expires_at, updated_at) VALUES ($1, $2, $3, "
                         "$4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                         {o.id, o.kioskId, req.idempotencyKey, req.requestHash, o.cardNumber,
                          o.accountId, o.meterNumber, o.origin, o.amount, o.feeAmount,
                          o.creditAmount, o.state, o.provider, req.challenge, o.createdAt,
                          o.expiresAt, o.updatedAt}));
      // What the payment will settle, as the resident is shown it: recorded with the order, so
      // that the payment settles these and nothing billed later.
      std::int64_t left = feePart;
      for (const auto& fee : fees) {
        if (left <= 0) break;
        const std::int64_t part = std::min(left, fee.owed);
        result.feeItems.push_back({{"fee_id", fee.id}, {"item", fee.item}, {"amount", part}});
        KIOSK_TRY(item, runLater(conn,
                                 "INSERT INTO order_fee_items (order_id, fee_id, amount) VALUES ($1, "
                                 "$2, $3)",
                                 {o.id, fee.id, part}));
        left -= part;
      }
      return result;
    });
  };
  auto result = attempt();
  // Two requests with the same key raced to insert: the loser reads the winner's order.
  if (!result && result.error().error == CloudError::Conflict) result = attempt();
  return result;
}

CloudResult<Order> Store::order(const std::string& orderId) {
  auto lease = m_db.acquire();
  return requireOrder(*lease, orderId);
}

CloudResult<Order> Store::transition(const std::string& orderId, const std::string& from,
                                     const std::string& to, const std::string& reason,
                                     std::int64_t now) {
  return transact<Order>(m_db, [&](SqlConnection& conn) -> CloudResult<Order> {
    const bool final = isFinalState(to);
    KIOSK_TRY(updated, run(conn,
                           std::string("UPDATE orders SET state = $1, reason = $2, updated_at = $3, "
                                       "final_at = CASE WHEN $4 = 1 THEN $3 ELSE final_at END "
                                       "WHERE id = $5 AND state = $6 RETURNING ") +
                               kOrderColumns,
                           {to, reason, now, static_cast<std::int64_t>(final ? 1 : 0), orderId, from}));
    if (updated->rows.empty()) {
      KIOSK_TRY(current, requireOrder(conn, orderId));
      return failWith(CloudError::InvalidState, "order is " + current->state + ", not " + from);
    }
    KIOSK_TRY(sent, announce(m_db, conn, orderId));
    return orderFromRow(updated->rows.front());
  });
}

CloudResult<Order> Store::cancelOrder(const std::string& kioskId, const std::string& orderId,
                                      std::int64_t now) {
  KIOSK_TRY(current, order(orderId));
  if (current->kioskId != kioskId) {
    return failWith(CloudError::ForeignOrder, "order belongs to another kiosk");
  }
  if (current->state == state::kCanceled) return current;  // a repeated cancel is harmless
  return transition(orderId, state::kCreated, state::kCanceled, "KIOSK", now);
}

CloudResult<PaymentResult> Store::recordPayment(const PaymentEvent& event, std::int64_t now) {
  const std::string lockedOrder = lockedOrderQuery(m_db.dialect());
  return transact<PaymentResult>(m_db, [&](SqlConnection& conn) -> CloudResult<PaymentResult> {
    // The order first: a second delivery of the same event waits for the first one's lock and
    // then finds its payment row.
    KIOSK_TRY(reads, runAll(conn, {{lockedOrder, {event.orderId}},
                                   {"SELECT outcome, order_id FROM payments WHERE event_id = $1",
                                    {event.eventId}}}));
    const auto& seen = (*reads)[1];
    if (!seen.rows.empty()) return PaymentResult{PaymentOutcome::Duplicate, seen.rows[0].text(1)};
    if ((*reads)[0].rows.empty()) return failWith(CloudError::NotFound, "no order " + event.orderId);
    const Order current = orderFromRow((*reads)[0].rows.front());
    PaymentResult result{PaymentOutcome::Ignored, current.id};
    // Money that cannot go onto the card is carried by an order of its own on its way back,
    // so that the reconciliation finds every minor unit received.
    auto refundChild = [&](const std::string& why) -> CloudResult<std::string> {
      const std::string childId = "ord_" + randomHex(12);
      KIOSK_TRY(child,
                runLater(conn,
                    "INSERT INTO orders (id, kiosk_id, idempotency_key, request_hash, card_number, "
                    "account_id, meter_number, origin, origin_order_id, amount, fee_amount, "
                    "credit_amount, state, reason, provider, created_at, expires_at, paid_at, "
                    "updated_at) VALUES ($1, $2, $3, '', $4, $5, $6, $7, $8, $9, 0, $9, "
                    "'REFUND_PENDING', $7, $10, $11, $11, $11, $11)",
                    {childId, current.kioskId, why + ":" + event.eventId, current.cardNumber,
                     current.accountId, current.meterNumber, why, current.id, event.amount,
                     event.provider, now}));
      return childId;
    };

    if (event.status == "DECLINED") {
      if (current.state == state::kCreated) {
        KIOSK_TRY(updated, runLater(conn,
                                    "UPDATE orders SET state = 'CANCELED', reason = 'DECLINED', "
                                    "updated_at = $1, final_at = $1 WHERE id = $2 AND state = "
                                    "'CREATED'",
                                    {now, current.id}));
        result.outcome = PaymentOutcome::Declined;
      }
    } else if (event.amount != current.amount) {
      // Never credit a different sum than the one the resident saw: it goes back.
      KIOSK_TRY(childId, refundChild("AMOUNT_MISMATCH"));
      result = {PaymentOutcome::AmountMismatch, *childId};
    } else if (current.state == state::kCreated) {
      // The row is locked (or the transaction is SQLite's only writer): it is still CREATED.
      KIOSK_TRY(updated, runLater(conn,
                                  "UPDATE orders SET state = 'PAID', paid_at = $1, updated_at = $1 "
                                  "WHERE id = $2 AND state = 'CREATED'",
                                  {now, current.id}));
      result.outcome = PaymentOutcome::Applied;
      // The payment settles the fees its order showed (its fee_items), each up to what is still
      // owed on it; what another payment settled meanwhile turns into credit here. A fee billed
      // after the order was shown is not touched.
      std::int64_t left = current.feeAmount;
      if (left > 0) {
        KIOSK_TRY(promised, run(conn,
                                std::string("SELECT i.fee_id, i.amount, f.amount - f.paid FROM "
                                            "order_fee_items i JOIN fees f ON f.id = i.fee_id "
                                            "WHERE i.order_id = $1 ORDER BY f.created_at, f.id") +
                                    (m_db.dialect() == Dialect::Postgres ? " FOR UPDATE OF f" : ""),
                                {current.id}));
        for (const auto& fee : promised->rows) {
          const std::int64_t part = std::min({left, fee.integer(1), fee.integer(2)});
          if (part <= 0) continue;
          KIOSK_TRY(paid, runLater(conn,
                                   "UPDATE fees SET paid = paid + $1 WHERE id = $2",
                                   {part, fee.text(0)}));
          KIOSK_TRY(link, runLater(conn,
                                   "INSERT INTO fee_payments (order_id, fee_id, amount) VALUES ($1, "
                                   "$2, $3)",
                                   {current.id, fee.text(0), part}));
          left -= part;
        }
      }
      if (left > 0) {
        KIOSK_TRY(moved, runLater(conn,
                                  "UPDATE orders SET fee_amount = fee_amount - $1, credit_amount = "
                                  "credit_amount + $1 WHERE id = $2",
                                  {left, current.id}));
      }
      if (current.creditAmount + left == 0) {
        // All of it went to fees: there is nothing to write onto the card.
        KIOSK_TRY(done, runLater(conn,
                                 "UPDATE orders SET state = 'DELIVERED', delivered_at = $1, "
                                 "final_at = $1 WHERE id = $2 AND state = 'PAID'",
                                 {now, current.id}));
      }
    } else if (current.state == state::kExpired || current.state == state::kCanceled) {
      // The money arrived after the kiosk gave up: it becomes credit on the card's account
      // (written at the next insertion) or, when the card can no longer take credit, a refund.
      KIOSK_TRY(card, run(conn,
                          "SELECT c.status, a.status FROM cards c JOIN accounts a ON "
                          "a.id = c.account_id WHERE c.number = $1",
                          {current.cardNumber}));
      const bool usable = !card->rows.empty() && card->rows[0].text(0) == "ACTIVE" &&
                          card->rows[0].text(1) == "ACTIVE";
      const std::string childId = "ord_" + randomHex(12);
      const std::string childState = usable ? state::kPaid : state::kRefundPending;
      KIOSK_TRY(child,
                runLater(conn,
                    "INSERT INTO orders (id, kiosk_id, idempotency_key, request_hash, card_number, "
                    "account_id, meter_number, origin, origin_order_id, amount, fee_amount, "
                    "credit_amount, state, reason, provider, created_at, expires_at, paid_at, "
                    "updated_at) VALUES ($1, $2, $3, '', $4, $5, $6, 'LATE_PAYMENT', $7, $8, 0, $8, "
                    "$9, $10, $11, $12, $12, $12, $12)",
                    {childId, current.kioskId, "late:" + event.eventId, current.cardNumber,
                     current.accountId, current.meterNumber, current.id, event.amount,
                     childState, std::string(usable ? "" : "CARD_UNUSABLE"), event.provider, now}));
      result = {usable ? PaymentOutcome::LateCredit : PaymentOutcome::LateRefund, childId};
      KIOSK_TRY(sent, announce(m_db, conn, childId));
    } else {
      // Paid twice for one order under two provider events: keep it and refund it.
      KIOSK_TRY(childId, refundChild("DOUBLE_PAYMENT"));
      result = {PaymentOutcome::LateRefund, *childId};
    }
    KIOSK_TRY(recorded, runLater(conn,
                                 "INSERT INTO payments (event_id, order_id, provider, status, "
                                 "amount, outcome, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            {event.eventId, current.id, event.provider, event.status, event.amount,
                             std::string(outcomeName(result.outcome)), now}));
    KIOSK_TRY(sent, announce(m_db, conn, current.id));
    return result;
  });
}

CloudResult<IssuedToken> Store::issueToken(const std::string& orderId, CardFormat& format,
                                           std::int64_t now, const KioskCaller& caller) {
  const std::string lockedOrder = lockedOrderQuery(m_db.dialect());
  auto issued = transact<IssuedToken>(m_db, [&](SqlConnection& conn) -> CloudResult<IssuedToken> {
    // Locking the order first is what makes minting happen once: a concurrent request waits
    // on the row (PostgreSQL) or for the write lock (SQLite), then finds the token.
    std::vector<SqlStatement> reads;
    addNonce(reads, caller, now);
    const std::size_t first = reads.size();
    reads.push_back({lockedOrder, {orderId}});
    reads.push_back({"SELECT c.status, a.status FROM orders o JOIN cards c ON c.number = "
                     "o.card_number LEFT JOIN accounts a ON a.id = c.account_id WHERE o.id = $1",
                     {orderId}});
    reads.push_back({"SELECT meter_number, sequence, amount, key_version, issued_at, token_hex "
                     "FROM tokens WHERE order_id = $1",
                     {orderId}});
    // The meter's row is locked after the order's (always in this order), so its sequence
    // can be taken here and written back with COMMIT.
    reads.push_back({std::string("SELECT m.token_seq, m.key_version, m.utility FROM meters m JOIN "
                                 "orders o ON o.meter_number = m.number WHERE o.id = $1") +
                         (m_db.dialect() == Dialect::Postgres ? " FOR UPDATE OF m" : ""),
                     {orderId}});
    KIOSK_TRY(results, runAll(conn, reads));
    KIOSK_TRY(fresh, checkNonce(caller, *results));
    const auto& orders = (*results)[first];
    if (orders.rows.empty()) return failWith(CloudError::NotFound, "no order " + orderId);
    const Order current = orderFromRow(orders.rows.front());
    KIOSK_TRY(allowed, checkDeliverable(caller, current));
    // A card reported lost or blocked after paying gets no credit; the operator refunds the
    // order instead.
    const auto& card = (*results)[first + 1];
    if (card.rows.empty()) return failWith(CloudError::UnknownCard, "unknown card " + current.cardNumber);
    if (card.rows[0].text(0) == "LOST") return failWith(CloudError::CardLost, "card was reported lost");
    if (card.rows[0].text(0) != "ACTIVE" || card.rows[0].text(1) == "BLOCKED") {
      return failWith(CloudError::CardBlocked, "card or account is blocked");
    }
    if (current.state != state::kPaid || current.creditAmount <= 0) {
      const auto& token = (*results)[first + 2];
      if (token.rows.empty()) {
        return failWith(CloudError::InvalidState, "order is " + current.state + ", not PAID");
      }
      const auto& t = token.rows[0];
      return IssuedToken{orderId,      t.text(0),    t.integer(1), t.integer(2),
                         t.integer(3), t.integer(4), t.text(5),    false};
    }
    KIOSK_TRY(claimed, runLater(conn,
                                "UPDATE orders SET state = 'TOKEN_ISSUED', token_issued_at = $1, "
                                "updated_at = $1 WHERE id = $2 AND state = 'PAID'",
                                {now, orderId}));
    const auto& meter = (*results)[first + 3];
    if (meter.rows.empty()) return failWith(CloudError::Internal, "order's meter is gone");
    IssuedToken token{orderId,
                      current.meterNumber,
                      meter.rows[0].integer(0) + 1,
                      current.creditAmount,
                      meter.rows[0].integer(1),
                      now,
                      {},
                      true};
    KIOSK_TRY(counted, runLater(conn, "UPDATE meters SET token_seq = $1 WHERE number = $2",
                                {token.sequence, current.meterNumber}));
    KIOSK_TRY(minted, format.mintToken({token.meterNumber, meter.rows[0].text(2), token.sequence,
                                        token.amount, token.issuedAt, token.keyVersion}));
    token.tokenHex = *minted;
    KIOSK_TRY(stored, runLater(conn,
                               "INSERT INTO tokens (order_id, meter_number, sequence, amount, "
                               "key_version, issued_at, token_hex) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                               {orderId, token.meterNumber, token.sequence, token.amount,
                                token.keyVersion, token.issuedAt, token.tokenHex}));
    KIOSK_TRY(sent, announce(m_db, conn, orderId));
    return token;
  });
  return issued;
}

CloudResult<Order> Store::confirmDelivery(const std::string& orderId, std::int64_t sequence,
                                          std::int64_t now, const KioskCaller& caller) {
  const std::string lockedOrder = lockedOrderQuery(m_db.dialect());
  auto confirmed = transact<Order>(m_db, [&](SqlConnection& conn) -> CloudResult<Order> {
    std::vector<SqlStatement> reads;
    addNonce(reads, caller, now);
    const std::size_t first = reads.size();
    reads.push_back({lockedOrder, {orderId}});
    reads.push_back({"SELECT sequence FROM tokens WHERE order_id = $1", {orderId}});
    KIOSK_TRY(results, runAll(conn, reads));
    KIOSK_TRY(fresh, checkNonce(caller, *results));
    const auto& orders = (*results)[first];
    if (orders.rows.empty()) return failWith(CloudError::NotFound, "no order " + orderId);
    Order current = orderFromRow(orders.rows.front());
    KIOSK_TRY(allowed, checkDeliverable(caller, current));
    if (current.state == state::kDelivered) {
      return failWith(CloudError::AlreadyDelivered, "delivery was already confirmed");
    }
    if (current.state != state::kTokenIssued) {
      return failWith(CloudError::InvalidState, "order is " + current.state + ", not TOKEN_ISSUED");
    }
    const auto& token = (*results)[first + 1];
    if (token.rows.empty() || token.rows[0].integer(0) != sequence) {
      return failWith(CloudError::BadRequest, "sequence does not match the order's token");
    }
    // The row is locked (or this is SQLite's only writer): it is still TOKEN_ISSUED.
    KIOSK_TRY(updated, runLater(conn,
                                "UPDATE orders SET state = 'DELIVERED', delivered_at = $1, "
                                "final_at = $1, updated_at = $1 WHERE id = $2 AND state = "
                                "'TOKEN_ISSUED'",
                                {now, orderId}));
    KIOSK_TRY(marked, runLater(conn, "UPDATE tokens SET delivered_at = $1 WHERE order_id = $2",
                               {now, orderId}));
    KIOSK_TRY(sent, announce(m_db, conn, orderId));
    current.state = state::kDelivered;
    current.deliveredAt = now;
    current.updatedAt = now;
    return current;
  });
  return confirmed;
}

CloudResult<Store::JournalResult> Store::appendJournal(const std::string& kioskId,
                                                       const std::vector<JournalEvent>& events,
                                                       std::int64_t now) {
  return transact<JournalResult>(m_db, [&](SqlConnection& conn) -> CloudResult<JournalResult> {
    JournalResult result;
    for (const auto& event : events) {
      KIOSK_TRY(inserted, run(conn,
                              "INSERT INTO journal_events (kiosk_id, seq, type, at, payload, "
                              "received_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                              {kioskId, event.seq, event.type, event.at, event.payload, now}));
      if (inserted->affected == 1) {
        ++result.accepted;
      } else {
        ++result.duplicates;
      }
    }
    return result;
  });
}

CloudResult<std::int64_t> Store::meterKeyVersion(const std::string& meterNumber) {
  KIOSK_TRY(rows, runOnce(m_db, "SELECT key_version FROM meters WHERE number = $1", {meterNumber}));
  if (rows->rows.empty()) return failWith(CloudError::NotFound, "unknown meter " + meterNumber);
  return rows->rows[0].integer(0);
}

CloudResult<Store::ReadingResult> Store::recordReading(const std::string& kioskId,
                                                       const std::string& cardNumber,
                                                       const MeterReturn& reading,
                                                       std::int64_t now) {
  return transact<ReadingResult>(m_db, [&](SqlConnection& conn) -> CloudResult<ReadingResult> {
    KIOSK_TRY(card, run(conn, "SELECT meter_number FROM cards WHERE number = $1", {cardNumber}));
    if (card->rows.empty()) return failWith(CloudError::UnknownCard, "unknown card");
    if (card->rows[0].text(0) != reading.meterNumber) {
      return failWith(CloudError::BadReturnData, "RETURN data is from another meter");
    }
    ReadingResult result;
    KIOSK_TRY(inserted,
              run(conn,
                  "INSERT INTO meter_readings (meter_number, reading_at, card_number, kiosk_id, "
                  "last_sequence, remaining, consumption, flags, received_at) VALUES ($1, $2, $3, "
                  "$4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                  {reading.meterNumber, reading.timestamp, cardNumber, kioskId, reading.lastSequence,
                   reading.remaining, reading.consumption, reading.flags, now}));
    result.stored = inserted->affected == 1;
    KIOSK_TRY(loaded, run(conn,
                          "UPDATE tokens SET loaded_at = $1 WHERE meter_number = $2 AND sequence <= $3 "
                          "AND loaded_at IS NULL",
                          {reading.timestamp, reading.meterNumber, reading.lastSequence}));
    result.tokensLoaded = loaded->affected;
    return result;
  });
}

namespace {

// Every kiosk's refresh would repeat it: at most once in ten minutes per process.
void warnUnlisted(std::int64_t total) {
  static std::atomic<std::int64_t> lastWarned{0};
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  std::int64_t last = lastWarned.load();
  if (last != 0 && now - last < 600) return;
  if (!lastWarned.compare_exchange_strong(last, now)) return;
  spdlog::warn("{} cards are blocked or lost; kiosk configurations list the {} most recent, the "
               "rest are refused online only",
               total, limits::kMaxBlockedCards);
}

}  // namespace

CloudResult<json> Store::kioskConfig(const std::string& kioskId, std::int64_t minAmount,
                                     std::int64_t maxAmount) {
  auto lease = m_db.acquire();
  auto& conn = *lease;
  KIOSK_TRY(kiosk, run(conn, "SELECT id, location, building FROM kiosks WHERE id = $1", {kioskId}));
  if (kiosk->rows.empty()) return failWith(CloudError::UnknownKiosk, "unknown kiosk");
  json out{{"kiosk", {{"id", kiosk->rows[0].text(0)},
                      {"location", kiosk->rows[0].text(1)},
                      {"building", kiosk->rows[0].text(2)}}},
           {"limits", {{"min_amount", minAmount}, {"max_amount", maxAmount}}}};
  KIOSK_TRY(tariffs, run(conn, "SELECT id, name, utility, spec FROM tariffs ORDER BY id"));
  out["tariffs"] = json::array();
  for (const auto& t : tariffs->rows) {
    out["tariffs"].push_back({{"id", t.text(0)}, {"name", t.text(1)}, {"utility", t.text(2)},
                              {"spec", json::parse(t.text(3), nullptr, false)}});
  }
  // As many as a kiosk reads, the most recently blocked first (listed by number). Those left
  // out are still refused online, at card lookup and order creation.
  KIOSK_TRY(blocked, run(conn,
                         "SELECT number, status FROM (SELECT number, status FROM cards WHERE status "
                         "<> 'ACTIVE' ORDER BY COALESCE(status_at, 0) DESC, number LIMIT $1) AS recent "
                         "ORDER BY number",
                         {static_cast<std::int64_t>(limits::kMaxBlockedCards)}));
  out["blocked_cards"] = json::array();
  for (const auto& c : blocked->rows) {
    out["blocked_cards"].push_back({{"number", c.text(0)}, {"status", c.text(1)}});
  }
  std::int64_t blockedTotal = static_cast<std::int64_t>(blocked->rows.size());
  if (blocked->rows.size() == limits::kMaxBlockedCards) {
    KIOSK_TRY(counted, run(conn, "SELECT COUNT(*) FROM cards WHERE status <> 'ACTIVE'"));
    blockedTotal = counted->rows[0].integer(0);
    if (blockedTotal > static_cast<std::int64_t>(limits::kMaxBlockedCards)) warnUnlisted(blockedTotal);
  }
  out["blocked_cards_total"] = blockedTotal;
  KIOSK_TRY(staff, run(conn,
                       "SELECT id, name, pin_salt, pin_hash, pin_iterations, card_number FROM staff "
                       "WHERE status = 'ACTIVE' ORDER BY id"));
  out["staff"] = json::array();
  for (const auto& s : staff->rows) {
    json member{{"id", s.text(0)},
                {"name", s.text(1)},
                {"pin", {{"algorithm", "PBKDF2-HMAC-SHA256"},
                         {"salt", s.text(2)},
                         {"hash", s.text(3)},
                         {"iterations", s.integer(4)}}}};
    member["card_number"] = s.isNull(5) ? json(nullptr) : json(s.text(5));
    out["staff"].push_back(member);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Background work

CloudResult<std::vector<std::string>> Store::expireOrders(std::int64_t now) {
  return transact<std::vector<std::string>>(
      m_db, [&](SqlConnection& conn) -> CloudResult<std::vector<std::string>> {
        KIOSK_TRY(rows, run(conn,
                            "UPDATE orders SET state = 'EXPIRED', reason = 'TIMEOUT', updated_at = $1, "
                            "final_at = $1 WHERE state = 'CREATED' AND expires_at <= $1 RETURNING id",
                            {now}));
        std::vector<std::string> ids;
        for (const auto& row : rows->rows) {
          ids.push_back(row.text(0));
          KIOSK_TRY(sent, announce(m_db, conn, ids.back()));
        }
        return ids;
      });
}

CloudResult<std::vector<Order>> Store::ordersInState(const std::string& orderState, int limit) {
  KIOSK_TRY(rows, runOnce(m_db,
                          std::string("SELECT ") + kOrderColumns +
                              " FROM orders WHERE state = $1 ORDER BY updated_at LIMIT $2",
                          {orderState, static_cast<std::int64_t>(limit)}));
  std::vector<Order> orders;
  for (const auto& row : rows->rows) orders.push_back(orderFromRow(row));
  return orders;
}

CloudResult<std::vector<Order>> Store::claimRefunds(const std::string& claimant, std::int64_t now,
                                                    std::int64_t claimSeconds, int limit) {
  // The outer conditions are checked again on the row as it is when the update reaches it
  // (PostgreSQL re-reads a row another transaction changed meanwhile), so an order claimed by
  // someone else in the meantime is skipped, never claimed twice.
  const std::string claimable =
      "state = 'REFUND_PENDING' AND (refund_claim_until IS NULL OR refund_claim_until <= $3)";
  const std::string sql =
      "UPDATE orders SET refund_claim = $1, refund_claim_until = $2 WHERE id IN (SELECT id FROM "
      "orders WHERE " + claimable + " ORDER BY updated_at, id LIMIT $4" +
      (m_db.dialect() == Dialect::Postgres ? " FOR UPDATE SKIP LOCKED" : "") + ") AND " +
      claimable + " RETURNING " + kOrderColumns;
  return transact<std::vector<Order>>(m_db, [&](SqlConnection& conn) -> CloudResult<std::vector<Order>> {
    KIOSK_TRY(rows, run(conn, sql,
                        {claimant, now + claimSeconds, now, static_cast<std::int64_t>(limit)}));
    std::vector<Order> orders;
    for (const auto& row : rows->rows) orders.push_back(orderFromRow(row));
    return orders;
  });
}

CloudResult<Order> Store::finishRefund(const std::string& orderId, const std::string& claimant,
                                       std::int64_t now) {
  return transact<Order>(m_db, [&](SqlConnection& conn) -> CloudResult<Order> {
    KIOSK_TRY(updated, run(conn,
                           std::string("UPDATE orders SET state = 'REFUNDED', reason = CASE WHEN "
                                       "reason = '' THEN 'REFUND' ELSE reason END, updated_at = $1, "
                                       "final_at = $1, refund_claim_until = NULL WHERE id = $2 AND "
                                       "state = 'REFUND_PENDING' AND refund_claim = $3 RETURNING ") +
                               kOrderColumns,
                           {now, orderId, claimant}));
    if (updated->rows.empty()) {
      KIOSK_TRY(current, requireOrder(conn, orderId));
      return failWith(CloudError::InvalidState,
                      "order is " + current->state + " and its refund is not claimed by " + claimant);
    }
    KIOSK_TRY(sent, announce(m_db, conn, orderId));
    return orderFromRow(updated->rows.front());
  });
}

CloudResult<bool> Store::releaseRefund(const std::string& orderId, const std::string& claimant) {
  KIOSK_TRY(rows, writeOnce(m_db,
                            "UPDATE orders SET refund_claim_until = NULL WHERE id = $1 AND state = "
                            "'REFUND_PENDING' AND refund_claim = $2",
                            {orderId, claimant}));
  return rows->affected == 1;
}

// ---------------------------------------------------------------------------------------
// Operator

namespace {

// A failed INSERT of an operator request, as the operator should read it.
Failure insertFailure(const DbFailure& failure) {
  if (failure.kind == DbErrorKind::Unique) return {CloudError::Conflict, "already exists"};
  // A reference to a row that does not exist (foreign key) is the operator's mistake.
  if (failure.message.find("FOREIGN KEY") != std::string::npos ||
      failure.message.find("foreign key") != std::string::npos) {
    return {CloudError::BadRequest, "refers to something that does not exist"};
  }
  return toFailure(failure);
}

CloudResult<json> insertRow(Database& db, std::string_view sql, const std::vector<SqlValue>& params,
                            json echo) {
  auto result = db.execWrite(sql, params);
  if (!result) return Unexpected<Failure>{insertFailure(result.error())};
  return echo;
}

// Runs a write (a new row, or a row made active again) unless `room`, run first in the same
// transaction, refuses: for what kiosks read only so many of. `lock` serialises concurrent
// writes of the kind on PostgreSQL (SQLite has one writer).
CloudResult<json> writeCounted(Database& db, const SqlStatement& lock,
                                const std::function<CloudResult<bool>(SqlConnection&)>& room,
                                std::string_view sql, const std::vector<SqlValue>& params, json echo) {
  return transact<json>(db, [&](SqlConnection& conn) -> CloudResult<json> {
    if (db.dialect() == Dialect::Postgres) {
      KIOSK_TRY(locked, run(conn, lock.sql, lock.params));
    }
    KIOSK_TRY(fits, room(conn));
    auto inserted = conn.exec(sql, params);
    if (!inserted) {
      // A serialization failure or a lost connection: transact() retries or reports it.
      if (inserted.error().kind == DbErrorKind::Retry) return Unexpected<Failure>{toFailure(inserted.error())};
      return Unexpected<Failure>{insertFailure(inserted.error())};
    }
    return echo;
  });
}

// For writeCounted: room while fewer than `max` rows (counted by `countSql`) exist, as many
// as every kiosk's configuration lists.
std::function<CloudResult<bool>(SqlConnection&)> roomInConfig(const char* countSql, std::size_t max,
                                                              const char* what) {
  return [countSql, max, what](SqlConnection& conn) -> CloudResult<bool> {
    KIOSK_TRY(count, run(conn, countSql));
    if (static_cast<std::size_t>(count->rows[0].integer(0)) >= max) {
      return failWith(CloudError::BadRequest, "there are " + std::to_string(max) + " " + what +
                                                  " already, as many as a kiosk's configuration holds");
    }
    return true;
  };
}

// Every kiosk's configuration lists the active staff.
SqlStatement staffLock() { return {"LOCK TABLE staff IN SHARE ROW EXCLUSIVE MODE", {}}; }
std::function<CloudResult<bool>(SqlConnection&)> roomForActiveStaff() {
  return roomInConfig("SELECT COUNT(*) FROM staff WHERE status = 'ACTIVE'", limits::kMaxStaff,
                      "active staff");
}

// Text fields of operator requests, no longer than a kiosk reads them (bytes).
CloudResult<std::string> needText(const json& body, const char* key, std::size_t maxLength) {
  KIOSK_TRY(text, needString(body, key));
  if (text->size() > maxLength) {
    return failWith(CloudError::BadRequest,
                    std::string(key) + " is longer than " + std::to_string(maxLength) + " bytes");
  }
  return std::move(*text);
}
CloudResult<std::string> optText(const json& body, const char* key, std::size_t maxLength,
                                 std::string fallback = "") {
  std::string text = optString(body, key, std::move(fallback));
  if (text.size() > maxLength) {
    return failWith(CloudError::BadRequest,
                    std::string(key) + " is longer than " + std::to_string(maxLength) + " bytes");
  }
  return text;
}

}  // namespace

CloudResult<json> Store::createTariff(const json& body, std::int64_t now) {
  KIOSK_TRY(id, needText(body, "id", limits::kMaxIdLength));
  KIOSK_TRY(name, needText(body, "name", limits::kMaxNameLength));
  KIOSK_TRY(utility, needString(body, "utility"));
  if (*utility != "electricity" && *utility != "water") {
    return failWith(CloudError::BadRequest, "utility must be electricity or water");
  }
  if (!body.contains("spec")) return failWith(CloudError::BadRequest, "spec is missing");
  KIOSK_TRY(tariff, parseTariff(body["spec"]));
  const json spec = tariffToJson(*tariff);
  // Every kiosk's configuration lists every tariff.
  const auto room = roomInConfig("SELECT COUNT(*) FROM tariffs", limits::kMaxTariffs, "tariffs");
  return writeCounted(m_db, {"LOCK TABLE tariffs IN SHARE ROW EXCLUSIVE MODE", {}}, room,
                       "INSERT INTO tariffs (id, name, utility, kind, spec, created_at) VALUES ($1, "
                       "$2, $3, $4, $5, $6)",
                       {*id, *name, *utility, std::string(kindName(tariff->kind)), spec.dump(), now},
                       {{"id", *id}, {"name", *name}, {"utility", *utility}, {"spec", spec}});
}

CloudResult<json> Store::createAccount(const json& body, std::int64_t now) {
  KIOSK_TRY(id, needText(body, "id", limits::kMaxIdLength));
  KIOSK_TRY(resident, needText(body, "resident", limits::kMaxNameLength));
  KIOSK_TRY(building, needText(body, "building", limits::kMaxPlaceLength));
  KIOSK_TRY(room, needText(body, "room", limits::kMaxPlaceLength));
  KIOSK_TRY(household, needText(body, "household", limits::kMaxPlaceLength));
  const std::string policy = optString(body, "fee_policy", "FEES_FIRST");
  if (policy != "FEES_FIRST" && policy != "PERCENT" && policy != "CREDIT_ONLY") {
    return failWith(CloudError::BadRequest, "fee_policy must be FEES_FIRST, PERCENT or CREDIT_ONLY");
  }
  std::int64_t share = 100;
  if (body.contains("fee_share_pct")) {
    KIOSK_TRY(pct, needInteger(body, "fee_share_pct"));
    if (*pct < 0 || *pct > 100) return failWith(CloudError::BadRequest, "fee_share_pct is 0..100");
    share = *pct;
  }
  return insertRow(m_db,
                   "INSERT INTO accounts (id, resident, building, room, household, fee_policy, "
                   "fee_share_pct, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                   {*id, *resident, *building, *room, *household, policy, share, now},
                   {{"id", *id}, {"building", *building}, {"room", *room},
                    {"household", *household}, {"fee_policy", policy}, {"fee_share_pct", share}});
}

CloudResult<json> Store::createMeter(const json& body, std::int64_t now) {
  KIOSK_TRY(number, needString(body, "number"));
  if (!isDigits(*number)) return failWith(CloudError::BadRequest, "meter number must be 1 to 19 digits");
  KIOSK_TRY(account, needText(body, "account_id", limits::kMaxIdLength));
  KIOSK_TRY(utility, needString(body, "utility"));
  if (*utility != "electricity" && *utility != "water") {
    return failWith(CloudError::BadRequest, "utility must be electricity or water");
  }
  KIOSK_TRY(tariff, optText(body, "tariff_id", limits::kMaxIdLength));
  std::int64_t keyVersion = 1;
  if (body.contains("key_version")) {
    KIOSK_TRY(version, needInteger(body, "key_version"));
    if (*version < 1 || *version > 255) return failWith(CloudError::BadRequest, "key_version 1..255");
    keyVersion = *version;
  }
  return insertRow(m_db,
                   "INSERT INTO meters (number, account_id, utility, tariff_id, key_version, "
                   "created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                   {*number, *account, *utility,
                    tariff->empty() ? SqlValue(nullptr) : SqlValue(*tariff), keyVersion, now},
                   {{"number", *number}, {"account_id", *account}, {"utility", *utility},
                    {"tariff_id", *tariff}, {"key_version", keyVersion}});
}

CloudResult<json> Store::createCard(const json& body, std::int64_t now) {
  KIOSK_TRY(number, needString(body, "number"));
  if (!isDigits(*number)) return failWith(CloudError::BadRequest, "card number must be digits");
  KIOSK_TRY(kind, needString(body, "kind"));
  if (*kind != "resident" && *kind != "staff") {
    return failWith(CloudError::BadRequest, "kind must be resident or staff");
  }
  const std::string account = optString(body, "account_id");
  const std::string meter = optString(body, "meter_number");
  if (*kind == "resident" && (account.empty() || meter.empty())) {
    return failWith(CloudError::BadRequest, "a resident card needs account_id and meter_number");
  }
  const std::string publicKey = optString(body, "public_key");
  auto opt = [](const std::string& v) { return v.empty() ? SqlValue(nullptr) : SqlValue(v); };
  return insertRow(m_db,
                   "INSERT INTO cards (number, kind, account_id, meter_number, public_key, "
                   "created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                   {*number, *kind, opt(account), opt(meter), opt(publicKey), now},
                   {{"number", *number}, {"kind", *kind}, {"account_id", account},
                    {"meter_number", meter}, {"status", "ACTIVE"}});
}

CloudResult<json> Store::createFee(const json& body, std::int64_t now) {
  KIOSK_TRY(account, needText(body, "account_id", limits::kMaxIdLength));
  KIOSK_TRY(item, needString(body, "item"));
  if (*item != "property" && *item != "rent" && *item != "water" && *item != "other") {
    return failWith(CloudError::BadRequest, "item must be property, rent, water or other");
  }
  KIOSK_TRY(amount, needInteger(body, "amount"));
  if (*amount <= 0 || *amount > limits::kMaxMoney) {
    return failWith(CloudError::BadRequest,
                    "amount must be from 1 to " + std::to_string(limits::kMaxMoney));
  }
  KIOSK_TRY(id, optText(body, "id", limits::kMaxIdLength, "fee_" + randomHex(8)));
  KIOSK_TRY(description, optText(body, "description", limits::kMaxDescriptionLength));
  // The household's card lookup lists every fee it owes, and their total.
  auto room = [&](SqlConnection& conn) -> CloudResult<bool> {
    KIOSK_TRY(owed, run(conn,
                        "SELECT COUNT(*), COALESCE(SUM(amount - paid), 0) FROM fees WHERE "
                        "account_id = $1 AND amount > paid",
                        {*account}));
    if (static_cast<std::size_t>(owed->rows[0].integer(0)) >= limits::kMaxFeesOwed) {
      return failWith(CloudError::BadRequest,
                      "the account owes " + std::to_string(limits::kMaxFeesOwed) +
                          " fees already, as many as a card lookup lists");
    }
    if (owed->rows[0].integer(1) > limits::kMaxMoney - *amount) {
      return failWith(CloudError::BadRequest, "the account's fees owed would exceed " +
                                                  std::to_string(limits::kMaxMoney));
    }
    return true;
  };
  // The account's row serialises fees billed to it at the same time.
  return writeCounted(m_db, {"SELECT id FROM accounts WHERE id = $1 FOR UPDATE", {*account}}, room,
                       "INSERT INTO fees (id, account_id, item, description, amount, created_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6)",
                       {*id, *account, *item, *description, *amount, now},
                       {{"id", *id}, {"account_id", *account}, {"item", *item}, {"amount", *amount}});
}

CloudResult<json> Store::createKiosk(const json& body, std::int64_t now) {
  KIOSK_TRY(id, needText(body, "id", limits::kMaxIdLength));
  const std::string secret = optString(body, "secret", randomHex(32));
  if (secret.size() < 32) return failWith(CloudError::BadRequest, "secret needs 32+ characters");
  KIOSK_TRY(location, optText(body, "location", limits::kMaxLocationLength));
  KIOSK_TRY(building, optText(body, "building", limits::kMaxPlaceLength));
  return insertRow(m_db,
                   "INSERT INTO kiosks (id, secret, location, building, created_at) VALUES ($1, $2, "
                   "$3, $4, $5)",
                   {*id, secret, *location, *building, now},
                   {{"id", *id}, {"secret", secret}, {"location", *location}, {"building", *building}});
}

CloudResult<json> Store::createStaff(const json& body, std::int64_t now) {
  KIOSK_TRY(id, needText(body, "id", limits::kMaxIdLength));
  KIOSK_TRY(name, needText(body, "name", limits::kMaxNameLength));
  KIOSK_TRY(pin, needString(body, "pin"));
  if (pin->size() < 4 || pin->size() > 12 ||
      !std::all_of(pin->begin(), pin->end(), [](unsigned char c) { return std::isdigit(c); })) {
    return failWith(CloudError::BadRequest, "pin must be 4 to 12 digits");
  }
  const std::string card = optString(body, "card_number");
  if (!card.empty() && !isDigits(card)) {
    return failWith(CloudError::BadRequest, "card_number must be 1 to 19 digits");
  }
  constexpr int kIterations = 100000;
  const std::string salt = randomHex(16);
  const std::string hash = pbkdf2Hex(*pin, salt, kIterations);
  return writeCounted(m_db, staffLock(), roomForActiveStaff(),
                       "INSERT INTO staff (id, name, pin_salt, pin_hash, pin_iterations, card_number, "
                       "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       {*id, *name, salt, hash, static_cast<std::int64_t>(kIterations),
                        card.empty() ? SqlValue(nullptr) : SqlValue(card), now},
                       {{"id", *id}, {"name", *name}, {"card_number", card}});
}

CloudResult<json> Store::setStatus(const std::string& table, const std::string& id,
                                   const std::string& status, std::int64_t now) {
  static const std::map<std::string, std::string, std::less<>> kKeys = {
      {"accounts", "id"}, {"cards", "number"}, {"kiosks", "id"}, {"staff", "id"}, {"meters", "number"}};
  const auto key = kKeys.find(table);
  if (key == kKeys.end()) return failWith(CloudError::NotFound, "nothing to block there");
  if (status != "ACTIVE" && status != "BLOCKED" && !(table == "cards" && status == "LOST")) {
    return failWith(CloudError::BadRequest, "status must be ACTIVE or BLOCKED (or LOST for cards)");
  }
  const std::string update = "UPDATE " + table + " SET status = $1 WHERE " + key->second + " = $2";
  if (table == "staff" && status == "ACTIVE") {
    // Re-activating one needs room in the kiosks' configuration, as creating one does; one
    // already active stays so.
    auto room = [&id, counted = roomForActiveStaff()](SqlConnection& conn) -> CloudResult<bool> {
      KIOSK_TRY(member, run(conn, "SELECT status FROM staff WHERE id = $1", {id}));
      if (member->rows.empty()) return failWith(CloudError::NotFound, "no such staff " + id);
      if (member->rows[0].text(0) == "ACTIVE") return true;
      return counted(conn);
    };
    return writeCounted(m_db, staffLock(), room, update, {status, id}, {{"id", id}, {"status", status}});
  }
  KIOSK_TRY(rows, table == "cards"
                      ? writeOnce(m_db, "UPDATE cards SET status = $1, status_at = $3 WHERE number = $2",
                                  {status, id, now})
                      : writeOnce(m_db, update, {status, id}));
  if (rows->affected == 0) return failWith(CloudError::NotFound, "no such " + table + " " + id);
  return json{{"id", id}, {"status", status}};
}

CloudResult<json> Store::cardForIssue(const std::string& cardNumber) {
  KIOSK_TRY(rows, runOnce(m_db,
                          "SELECT c.kind, c.account_id, c.meter_number, m.utility, t.spec FROM cards c "
                          "LEFT JOIN meters m ON m.number = c.meter_number LEFT JOIN tariffs t ON "
                          "t.id = m.tariff_id WHERE c.number = $1",
                          {cardNumber}));
  if (rows->rows.empty()) return failWith(CloudError::UnknownCard, "unknown card " + cardNumber);
  const auto& r = rows->rows[0];
  json out{{"number", cardNumber}, {"kind", r.text(0)}, {"account_id", r.text(1)},
           {"meter_number", r.text(2)}, {"utility", r.isNull(3) ? "electricity" : r.text(3)}};
  out["tariff"] = r.isNull(4) ? json(nullptr) : json::parse(r.text(4), nullptr, false);
  return out;
}

CloudResult<bool> Store::setCardPublicKey(const std::string& cardNumber,
                                          const std::string& publicKeyHex) {
  KIOSK_TRY(rows, writeOnce(m_db, "UPDATE cards SET public_key = $1 WHERE number = $2",
                            {publicKeyHex, cardNumber}));
  return rows->affected == 1;
}

CloudResult<json> Store::listOrders(const std::string& stateFilter, const std::string& kioskFilter,
                                    int limit) {
  KIOSK_TRY(rows, runOnce(m_db,
                          std::string("SELECT ") + kOrderColumns +
                              " FROM orders WHERE ($1 = '' OR state = $1) AND ($2 = '' OR kiosk_id = "
                              "$2) ORDER BY created_at DESC, id LIMIT $3",
                          {stateFilter, kioskFilter, static_cast<std::int64_t>(limit)}));
  json out{{"orders", json::array()}};
  for (const auto& row : rows->rows) out["orders"].push_back(orderToJson(orderFromRow(row)));
  return out;
}

CloudResult<json> Store::requestRefund(const std::string& orderId, std::int64_t now) {
  const std::string lockedOrder = lockedOrderQuery(m_db.dialect());
  const bool postgres = m_db.dialect() == Dialect::Postgres;
  auto moved = transact<Order>(m_db, [&](SqlConnection& conn) -> CloudResult<Order> {
    KIOSK_TRY(orders, run(conn, lockedOrder, {orderId}));
    if (orders->rows.empty()) return failWith(CloudError::NotFound, "no order " + orderId);
    Order current = orderFromRow(orders->rows.front());
    // Only money that never became a token goes back.
    if (current.state != state::kPaid) {
      return failWith(CloudError::InvalidState, "order is " + current.state + ", not PAID");
    }
    // The whole amount goes back, so the fees it settled are owed again: their settlements
    // are reversed in this transaction, and the books never count the money twice. Fees are
    // locked in the order payments lock them, so the two never wait on each other in a circle.
    KIOSK_TRY(settled, run(conn,
                           std::string("SELECT p.fee_id, p.amount FROM fee_payments p JOIN fees f ON "
                                       "f.id = p.fee_id WHERE p.order_id = $1 AND p.reversed_at IS "
                                       "NULL ORDER BY f.created_at, f.id") +
                               (postgres ? " FOR UPDATE OF f" : ""),
                           {orderId}));
    for (const auto& row : settled->rows) {
      KIOSK_TRY(owedAgain, runLater(conn, "UPDATE fees SET paid = paid - $1 WHERE id = $2",
                                    {row.integer(1), row.text(0)}));
    }
    if (!settled->rows.empty()) {
      KIOSK_TRY(reversed, runLater(conn,
                                   "UPDATE fee_payments SET reversed_at = $1 WHERE order_id = $2 "
                                   "AND reversed_at IS NULL",
                                   {now, orderId}));
    }
    // The row is locked (or this is SQLite's only writer): it is still PAID.
    KIOSK_TRY(updated, runLater(conn,
                                "UPDATE orders SET state = 'REFUND_PENDING', reason = 'OPERATOR', "
                                "updated_at = $1 WHERE id = $2 AND state = 'PAID'",
                                {now, orderId}));
    KIOSK_TRY(sent, announce(m_db, conn, orderId));
    current.state = state::kRefundPending;
    current.reason = "OPERATOR";
    current.updatedAt = now;
    return current;
  });
  if (!moved) return Unexpected<Failure>{moved.error()};
  return orderToJson(*moved);
}

CloudResult<json> Store::revenue(const std::string& period, const std::string& by) {
  if (period != "day" && period != "month") return failWith(CloudError::BadRequest, "period: day|month");
  if (by != "kiosk" && by != "building") return failWith(CloudError::BadRequest, "by: kiosk|building");
  const std::string group = by == "kiosk" ? "o.kiosk_id" : "a.building";
  // Money kept: paid and not sent back. Grouped per UTC day here, per month below.
  KIOSK_TRY(rows, runOnce(m_db,
                          "SELECT " + group + ", o.paid_at / 86400, SUM(o.amount), SUM(o.fee_amount), "
                          "SUM(o.credit_amount), COUNT(*) FROM orders o JOIN accounts a ON "
                          "a.id = o.account_id WHERE o.paid_at IS NOT NULL AND o.state NOT IN "
                          "('REFUND_PENDING', 'REFUNDED') GROUP BY " + group +
                          ", o.paid_at / 86400 ORDER BY 1, 2"));
  std::map<std::pair<std::string, std::string>, std::array<std::int64_t, 4>> sums;
  for (const auto& row : rows->rows) {
    std::string day = dayString(row.integer(1) * 86400);
    const std::string bucket = period == "day" ? day : day.substr(0, 7);
    auto& s = sums[{row.text(0), bucket}];
    s[0] += row.integer(2);
    s[1] += row.integer(3);
    s[2] += row.integer(4);
    s[3] += row.integer(5);
  }
  json out{{"period", period}, {"by", by}, {"rows", json::array()}};
  for (const auto& [k, s] : sums) {
    out["rows"].push_back({{by, k.first}, {period, k.second}, {"amount", s[0]}, {"fees", s[1]},
                           {"credit", s[2]}, {"orders", s[3]}});
  }
  return out;
}

CloudResult<json> Store::reconciliation(std::int64_t now) {
  auto lease = m_db.acquire();
  auto& conn = *lease;
  json out;
  KIOSK_TRY(states, run(conn, "SELECT state, COUNT(*), SUM(amount) FROM orders GROUP BY state ORDER BY 1"));
  out["orders"] = json::object();
  std::int64_t orderCount = 0;
  for (const auto& row : states->rows) {
    out["orders"][row.text(0)] = {{"count", row.integer(1)}, {"amount", row.integer(2)}};
    orderCount += row.integer(1);
  }
  out["orders_total"] = orderCount;
  KIOSK_TRY(payments, run(conn,
                          "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payments WHERE status = "
                          "'SUCCESS' AND outcome IN ('APPLIED', 'LATE_CREDIT', 'LATE_REFUND', "
                          "'AMOUNT_MISMATCH')"));
  KIOSK_TRY(mismatched, run(conn,
                            "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payments WHERE outcome = "
                            "'AMOUNT_MISMATCH'"));
  const std::int64_t received = payments->rows[0].integer(1);
  out["payments"] = {{"count", payments->rows[0].integer(0)}, {"amount", received},
                     {"amount_mismatch", {{"count", mismatched->rows[0].integer(0)},
                                          {"amount", mismatched->rows[0].integer(1)}}}};
  KIOSK_TRY(allocated, run(conn,
                           "SELECT COALESCE(SUM(amount), 0), "
                           "COALESCE(SUM(CASE WHEN state = 'REFUND_PENDING' THEN amount ELSE 0 END), 0), "
                           "COALESCE(SUM(CASE WHEN state = 'REFUNDED' THEN amount ELSE 0 END), 0), "
                           "COALESCE(SUM(CASE WHEN state = 'PAID' THEN credit_amount ELSE 0 END), 0) "
                           "FROM orders WHERE paid_at IS NOT NULL"));
  const auto& a = allocated->rows[0];
  KIOSK_TRY(fees, run(conn,
                      "SELECT COALESCE(SUM(amount), 0) FROM fee_payments WHERE reversed_at IS NULL"));
  KIOSK_TRY(tokens, run(conn,
                        "SELECT COUNT(*), COALESCE(SUM(amount), 0), "
                        "COALESCE(SUM(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END), 0), "
                        "COALESCE(SUM(CASE WHEN delivered_at IS NOT NULL THEN amount ELSE 0 END), 0), "
                        "COALESCE(SUM(CASE WHEN loaded_at IS NOT NULL THEN 1 ELSE 0 END), 0), "
                        "COALESCE(SUM(CASE WHEN loaded_at IS NOT NULL THEN amount ELSE 0 END), 0) "
                        "FROM tokens"));
  const auto& t = tokens->rows[0];
  out["money"] = {{"received", received},
                  {"allocated_to_orders", a.integer(0)},
                  {"fees_settled", fees->rows[0].integer(0)},
                  {"credit_awaiting_token", a.integer(3)},
                  {"tokens_issued", t.integer(1)},
                  {"refund_pending", a.integer(1)},
                  {"refunded", a.integer(2)}};
  out["tokens"] = {{"issued", {{"count", t.integer(0)}, {"amount", t.integer(1)}}},
                   {"delivered", {{"count", t.integer(2)}, {"amount", t.integer(3)}}},
                   {"loaded", {{"count", t.integer(4)}, {"amount", t.integer(5)}}}};
  // Every minor unit received is in exactly one place: fees, a token, credit waiting for its
  // token, or on its way back.
  const std::int64_t accounted = fees->rows[0].integer(0) + t.integer(1) + a.integer(3) +
                                 a.integer(1) + a.integer(2);
  json unaccounted = json::array();
  if (received != a.integer(0)) {
    unaccounted.push_back({{"kind", "PAYMENTS_VS_ORDERS"}, {"difference", received - a.integer(0)}});
  }
  if (accounted != received) {
    unaccounted.push_back({{"kind", "ALLOCATION"}, {"difference", received - accounted}});
  }
  KIOSK_TRY(stale, run(conn,
                       "SELECT id FROM orders WHERE state = 'CREATED' AND expires_at < $1 ORDER BY id",
                       {now - 60}));
  for (const auto& row : stale->rows) {
    unaccounted.push_back({{"kind", "ORDER_NOT_EXPIRED"}, {"order_id", row.text(0)}});
  }
  KIOSK_TRY(orphans, run(conn,
                         "SELECT o.id FROM orders o LEFT JOIN tokens t ON t.order_id = o.id WHERE "
                         "o.state IN ('TOKEN_ISSUED', 'DELIVERED') AND o.credit_amount > 0 AND "
                         "t.order_id IS NULL"));
  for (const auto& row : orphans->rows) {
    unaccounted.push_back({{"kind", "TOKEN_MISSING"}, {"order_id", row.text(0)}});
  }
  out["unaccounted"] = unaccounted;
  out["balanced"] = unaccounted.empty();
  return out;
}

CloudResult<json> Store::consumptionWarnings() {
  KIOSK_TRY(rows, runOnce(m_db,
                          "SELECT r.meter_number, r.reading_at, r.consumption, r.flags, m.account_id "
                          "FROM meter_readings r JOIN meters m ON m.number = r.meter_number "
                          "ORDER BY r.meter_number, r.reading_at"));
  json warnings = json::array();
  std::size_t i = 0;
  const auto& all = rows->rows;
  while (i < all.size()) {
    std::size_t j = i;
    while (j < all.size() && all[j].text(0) == all[i].text(0)) ++j;
    // Daily rates between consecutive readings of one meter, in thousandths of a unit per day.
    std::vector<double> rates;
    for (std::size_t k = i; k < j; ++k) {
      const auto& r = all[k];
      if ((r.integer(3) & kFlagTamper) != 0) {
        warnings.push_back({{"kind", "TAMPER"}, {"meter_number", r.text(0)},
                            {"account_id", r.text(4)}, {"at", r.integer(1)}});
      }
      if (k == i) continue;
      const auto& p = all[k - 1];
      const std::int64_t used = r.integer(2) - p.integer(2);
      const std::int64_t seconds = r.integer(1) - p.integer(1);
      if (used < 0) {
        warnings.push_back({{"kind", "CONSUMPTION_DECREASED"}, {"meter_number", r.text(0)},
                            {"account_id", r.text(4)}, {"at", r.integer(1)}});
        continue;
      }
      if (seconds <= 0) continue;
      const double rate = static_cast<double>(used) * 86400.0 / static_cast<double>(seconds);
      if (rates.size() >= 3) {
        std::vector<double> trailing(rates.end() - static_cast<std::ptrdiff_t>(std::min<std::size_t>(rates.size(), 12)),
                                     rates.end());
        std::nth_element(trailing.begin(), trailing.begin() + static_cast<std::ptrdiff_t>(trailing.size() / 2), trailing.end());
        const double median = trailing[trailing.size() / 2];
        if (median > 0.0 && (rate > 3.0 * median || rate < 0.2 * median)) {
          warnings.push_back({{"kind", rate > median ? "CONSUMPTION_HIGH" : "CONSUMPTION_LOW"},
                              {"meter_number", r.text(0)},
                              {"account_id", r.text(4)},
                              {"at", r.integer(1)},
                              {"daily", static_cast<std::int64_t>(rate)},
                              {"median_daily", static_cast<std::int64_t>(median)}});
        }
      }
      rates.push_back(rate);
    }
    i = j;
  }
  return json{{"warnings", warnings}};
}

}  // namespace kiosk::cloud
