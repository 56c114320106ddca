#include "protocol/signing.hpp"
#include "cloud/store_sql.hpp"
#include "protocol/limits.hpp"

#include <algorithm>

// Orders from creation to delivery, and refunds: every state change is one conditional
// UPDATE, or a row locked for the transaction that changes it.

namespace kiosk::cloud {
namespace {

using namespace sql;
namespace limits = protocol::limits;

// The fee items an order showed when it was created, as its creation answered them.
CloudResult<std::vector<OrderFeeItem>> orderFeeItems(SqlConnection& conn, const std::string& orderId) {
  KIOSK_TRY(rows, run(conn,
                      "SELECT i.fee_id, f.item, i.amount FROM order_fee_items i JOIN fees f ON "
                      "f.id = i.fee_id WHERE i.order_id = $1 ORDER BY f.created_at, f.id",
                      {orderId}));
  std::vector<OrderFeeItem> items;
  for (const auto& row : rows->rows) items.push_back({row.text(0), row.text(1), row.integer(2)});
  return items;
}

}  // namespace

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
      o.id = "ord_" + protocol::randomHex(12);
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
        result.feeItems.push_back({fee.id, fee.item, part});
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
    const bool final = protocol::isFinalState(to);
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
      const std::string childId = "ord_" + protocol::randomHex(12);
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
      const std::string childId = "ord_" + protocol::randomHex(12);
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
    reads.push_back({"SELECT c.status, a.status, m.status FROM orders o JOIN cards c ON c.number = "
                     "o.card_number LEFT JOIN accounts a ON a.id = c.account_id "
                     "LEFT JOIN meters m ON m.number = o.meter_number WHERE o.id = $1",
                     {orderId}});
    reads.push_back({"SELECT meter_number, sequence, amount, key_version, issued_at, token_hex, "
                     "delivery_nonce FROM tokens WHERE order_id = $1",
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
    // A card reported lost, or a card, account or meter blocked after paying gets no credit;
    // the operator refunds the order instead.
    const auto& card = (*results)[first + 1];
    if (card.rows.empty()) return failWith(CloudError::UnknownCard, "unknown card " + current.cardNumber);
    if (card.rows[0].text(0) == "LOST") return failWith(CloudError::CardLost, "card was reported lost");
    if (card.rows[0].text(0) != "ACTIVE" || card.rows[0].text(1) == "BLOCKED" ||
        card.rows[0].text(2) == "BLOCKED") {
      return failWith(CloudError::CardBlocked, "card, account or meter is blocked");
    }
    if (current.state != state::kPaid || current.creditAmount <= 0) {
      const auto& token = (*results)[first + 2];
      if (token.rows.empty()) {
        return failWith(CloudError::InvalidState, "order is " + current.state + ", not PAID");
      }
      const auto& t = token.rows[0];
      IssuedToken known{orderId,      t.text(0),    t.integer(1), t.integer(2), t.integer(3),
                        t.integer(4), t.text(5),    false,        t.text(6)};
      if (t.isNull(6)) {
        // Minted before delivery nonces: it gets its one now.
        known.deliveryNonce = format.newDeliveryNonce();
        KIOSK_TRY(given, runLater(conn, "UPDATE tokens SET delivery_nonce = $1 WHERE order_id = $2",
                                  {known.deliveryNonce, orderId}));
      }
      return known;
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
                      true,
                      {}};
    KIOSK_TRY(counted, runLater(conn, "UPDATE meters SET token_seq = $1 WHERE number = $2",
                                {token.sequence, current.meterNumber}));
    KIOSK_TRY(minted, format.mintToken({token.meterNumber, meter.rows[0].text(2), token.sequence,
                                        token.amount, token.issuedAt, token.keyVersion}));
    token.tokenHex = *minted;
    token.deliveryNonce = format.newDeliveryNonce();
    KIOSK_TRY(stored, runLater(conn,
                               "INSERT INTO tokens (order_id, meter_number, sequence, amount, "
                               "key_version, issued_at, token_hex, delivery_nonce) VALUES ($1, $2, "
                               "$3, $4, $5, $6, $7, $8)",
                               {orderId, token.meterNumber, token.sequence, token.amount,
                                token.keyVersion, token.issuedAt, token.tokenHex,
                                token.deliveryNonce}));
    KIOSK_TRY(sent, announce(m_db, conn, orderId));
    return token;
  });
  return issued;
}

CloudResult<Order> Store::confirmDelivery(const std::string& orderId, std::int64_t sequence,
                                          const DeliveryProof& proof, CardFormat& format,
                                          std::int64_t now, const KioskCaller& caller) {
  const std::string lockedOrder = lockedOrderQuery(m_db.dialect());
  auto confirmed = transact<Order>(m_db, [&](SqlConnection& conn) -> CloudResult<Order> {
    std::vector<SqlStatement> reads;
    addNonce(reads, caller, now);
    const std::size_t first = reads.size();
    reads.push_back({lockedOrder, {orderId}});
    reads.push_back({"SELECT t.sequence, t.token_hex, COALESCE(t.delivery_nonce, ''), "
                     "COALESCE(c.public_key, '') FROM tokens t JOIN orders o ON o.id = t.order_id "
                     "LEFT JOIN cards c ON c.number = o.card_number WHERE t.order_id = $1",
                     {orderId}});
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
    const auto& t = token.rows[0];
    if (t.text(2).empty()) {
      return failWith(CloudError::DeliveryUnproven,
                      "the token was issued without a delivery nonce: fetch its script again");
    }
    KIOSK_TRY(proven, format.verifyDelivery({current.cardNumber, t.text(3), t.text(1), t.text(2), proof}));
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

// ---------------------------------------------------------------------------------------
// Expiry and refunds

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

CloudResult<Order> Store::requestRefund(const std::string& orderId, std::int64_t now) {
  const std::string lockedOrder = lockedOrderQuery(m_db.dialect());
  const bool postgres = m_db.dialect() == Dialect::Postgres;
  return transact<Order>(m_db, [&](SqlConnection& conn) -> CloudResult<Order> {
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
}

}  // namespace kiosk::cloud
