#include "cloud/store_sql.hpp"
#include "platform/time_format.hpp"

#include <algorithm>
#include <array>

#include <map>

// What operators read: order lists, revenue, the reconciliation of money and tokens, and
// consumption that looks wrong.

namespace kiosk::cloud {
namespace {

using namespace sql;

std::string dayString(std::int64_t unixSeconds) {
  return platform::formatTime(unixSeconds, platform::kUtcZone, platform::kDatePattern);
}

}  // namespace

CloudResult<std::vector<Order>> Store::listOrders(const std::string& stateFilter,
                                                  const std::string& kioskFilter, int limit) {
  KIOSK_TRY(rows, runOnce(m_db,
                          std::string("SELECT ") + kOrderColumns +
                              " FROM orders WHERE ($1 = '' OR state = $1) AND ($2 = '' OR kiosk_id = "
                              "$2) ORDER BY created_at DESC, id LIMIT $3",
                          {stateFilter, kioskFilter, static_cast<std::int64_t>(limit)}));
  std::vector<Order> orders;
  for (const auto& row : rows->rows) orders.push_back(orderFromRow(row));
  return orders;
}

CloudResult<std::vector<RevenueRow>> Store::revenue(RevenuePeriod period, RevenueGroup by) {
  const std::string group = by == RevenueGroup::Kiosk ? "o.kiosk_id" : "a.building";
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
    const std::string bucket = period == RevenuePeriod::Day ? day : day.substr(0, 7);
    auto& s = sums[{row.text(0), bucket}];
    s[0] += row.integer(2);
    s[1] += row.integer(3);
    s[2] += row.integer(4);
    s[3] += row.integer(5);
  }
  std::vector<RevenueRow> out;
  for (const auto& [k, s] : sums) out.push_back({k.first, k.second, s[0], s[1], s[2], s[3]});
  return out;
}

CloudResult<Reconciliation> Store::reconciliation(std::int64_t now) {
  auto lease = m_db.acquire();
  auto& conn = *lease;
  Reconciliation out;
  KIOSK_TRY(states, run(conn, "SELECT state, COUNT(*), SUM(amount) FROM orders GROUP BY state ORDER BY 1"));
  for (const auto& row : states->rows) {
    out.ordersByState[row.text(0)] = {row.integer(1), row.integer(2)};
    out.ordersTotal += row.integer(1);
  }
  KIOSK_TRY(payments, run(conn,
                          "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payments WHERE status = "
                          "'SUCCESS' AND outcome IN ('APPLIED', 'LATE_CREDIT', 'LATE_REFUND', "
                          "'AMOUNT_MISMATCH')"));
  KIOSK_TRY(mismatched, run(conn,
                            "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM payments WHERE outcome = "
                            "'AMOUNT_MISMATCH'"));
  const std::int64_t received = payments->rows[0].integer(1);
  out.payments = {payments->rows[0].integer(0), received};
  out.amountMismatch = {mismatched->rows[0].integer(0), mismatched->rows[0].integer(1)};
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
  out.money = {received,     a.integer(0), fees->rows[0].integer(0), a.integer(3),
               t.integer(1), a.integer(1), a.integer(2)};
  out.tokensIssued = {t.integer(0), t.integer(1)};
  out.tokensDelivered = {t.integer(2), t.integer(3)};
  out.tokensLoaded = {t.integer(4), t.integer(5)};
  // Every minor unit received is in exactly one place: fees, a token, credit waiting for its
  // token, or on its way back.
  const std::int64_t accounted = fees->rows[0].integer(0) + t.integer(1) + a.integer(3) +
                                 a.integer(1) + a.integer(2);
  if (received != a.integer(0)) {
    out.unaccounted.push_back({"PAYMENTS_VS_ORDERS", received - a.integer(0), {}});
  }
  if (accounted != received) {
    out.unaccounted.push_back({"ALLOCATION", received - accounted, {}});
  }
  KIOSK_TRY(stale, run(conn,
                       "SELECT id FROM orders WHERE state = 'CREATED' AND expires_at < $1 ORDER BY id",
                       {now - 60}));
  for (const auto& row : stale->rows) {
    out.unaccounted.push_back({"ORDER_NOT_EXPIRED", std::nullopt, row.text(0)});
  }
  KIOSK_TRY(orphans, run(conn,
                         "SELECT o.id FROM orders o LEFT JOIN tokens t ON t.order_id = o.id WHERE "
                         "o.state IN ('TOKEN_ISSUED', 'DELIVERED') AND o.credit_amount > 0 AND "
                         "t.order_id IS NULL"));
  for (const auto& row : orphans->rows) {
    out.unaccounted.push_back({"TOKEN_MISSING", std::nullopt, row.text(0)});
  }
  return out;
}

CloudResult<std::vector<ConsumptionWarning>> Store::consumptionWarnings() {
  KIOSK_TRY(rows, runOnce(m_db,
                          "SELECT r.meter_number, r.reading_at, r.consumption, r.flags, m.account_id "
                          "FROM meter_readings r JOIN meters m ON m.number = r.meter_number "
                          "ORDER BY r.meter_number, r.reading_at"));
  std::vector<ConsumptionWarning> warnings;
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
        warnings.push_back({"TAMPER", r.text(0), r.text(4), r.integer(1), {}, {}});
      }
      if (k == i) continue;
      const auto& p = all[k - 1];
      const std::int64_t used = r.integer(2) - p.integer(2);
      const std::int64_t seconds = r.integer(1) - p.integer(1);
      if (used < 0) {
        warnings.push_back({"CONSUMPTION_DECREASED", r.text(0), r.text(4), r.integer(1), {}, {}});
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
          warnings.push_back({rate > median ? "CONSUMPTION_HIGH" : "CONSUMPTION_LOW",
                              r.text(0),
                              r.text(4),
                              r.integer(1),
                              static_cast<std::int64_t>(rate),
                              static_cast<std::int64_t>(median)});
        }
      }
      rates.push_back(rate);
    }
    i = j;
  }
  return warnings;
}

}  // namespace kiosk::cloud
