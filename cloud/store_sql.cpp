#include "cloud/store_sql.hpp"

namespace kiosk::cloud::sql {

CloudResult<SqlResult> run(SqlConnection& conn, std::string_view sql,
                           const std::vector<SqlValue>& params) {
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

CloudResult<bool> runLater(SqlConnection& conn, std::string_view sql, std::vector<SqlValue> params) {
  auto queued = conn.execLater(sql, std::move(params));
  if (!queued) return Unexpected<Failure>{toFailure(queued.error())};
  return true;
}

CloudResult<SqlResult> writeOnce(Database& db, std::string_view sql,
                                 const std::vector<SqlValue>& params) {
  auto result = db.execWrite(sql, params);
  if (!result) return Unexpected<Failure>{toFailure(result.error())};
  return std::move(result).value();
}

CloudResult<SqlResult> runOnce(Database& db, std::string_view sql,
                               const std::vector<SqlValue>& params) {
  auto lease = db.acquire();
  return run(*lease, sql, params);
}

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

std::string lockedOrderQuery(Dialect dialect) {
  return std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id = $1" +
         (dialect == Dialect::Postgres ? " FOR UPDATE" : "");
}

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

CloudResult<bool> announce(Database& db, SqlConnection& conn, const std::string& orderId) {
  auto sent = db.notify(conn, Store::kOrderChannel, orderId);
  if (!sent) return Unexpected<Failure>{toFailure(sent.error())};
  return true;
}

}  // namespace kiosk::cloud::sql
