#pragma once
// What the store's files share: statements run with the API's failures, the orders table's
// columns and rows, the checks of a signed kiosk request, and notifications of order changes.
// Only store_*.cpp include it.

#include "cloud/store.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiosk::cloud::sql {

CloudResult<SqlResult> run(SqlConnection& conn, std::string_view sql,
                           const std::vector<SqlValue>& params = {});
CloudResult<std::vector<SqlResult>> runAll(SqlConnection& conn,
                                           const std::vector<SqlStatement>& statements);
// A write whose result is not needed: on PostgreSQL it travels with the next statement or
// with COMMIT instead of costing a round trip of its own.
CloudResult<bool> runLater(SqlConnection& conn, std::string_view sql, std::vector<SqlValue> params);
// One statement that writes, committed on its own.
CloudResult<SqlResult> writeOnce(Database& db, std::string_view sql,
                                 const std::vector<SqlValue>& params = {});
// One read on a connection of its own.
CloudResult<SqlResult> runOnce(Database& db, std::string_view sql,
                               const std::vector<SqlValue>& params = {});

inline constexpr const char* kRememberNonce =
    "INSERT INTO nonces (kiosk_id, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

inline constexpr const char* kOrderColumns =
    "id, kiosk_id, card_number, account_id, meter_number, origin, origin_order_id, amount, "
    "fee_amount, credit_amount, state, reason, provider, created_at, expires_at, paid_at, "
    "token_issued_at, delivered_at, updated_at";

// An order from a row that starts with kOrderColumns.
Order orderFromRow(const SqlRow& row);

// The order's row, locked until the transaction ends on PostgreSQL so that concurrent
// requests for one order take turns (SQLite's write transactions already do).
std::string lockedOrderQuery(Dialect dialect);

// The first statement of a signed request's transaction: records its nonce.
void addNonce(std::vector<SqlStatement>& statements, const KioskCaller& caller, std::int64_t now);
// ReplayedNonce when the nonce that addNonce() recorded was already used.
CloudResult<bool> checkNonce(const KioskCaller& caller, const std::vector<SqlResult>& results);

// The order a kiosk may write to a card: its own, or any order whose credit is pending on
// the card that is in front of it (written at the next insertion at any kiosk).
CloudResult<bool> checkDeliverable(const KioskCaller& caller, const Order& order);

CloudResult<std::optional<Order>> findOrder(SqlConnection& conn, const std::string& id);
// NotFound when there is no such order.
CloudResult<Order> requireOrder(SqlConnection& conn, const std::string& id);

// Notifies long-polling readers of an order, inside the transaction that changed it.
CloudResult<bool> announce(Database& db, SqlConnection& conn, const std::string& orderId);

}  // namespace kiosk::cloud::sql
