#include "cloud/api_json.hpp"

#include "cloud/tariff.hpp"
#include "protocol/orders.hpp"

namespace kiosk::cloud {

using nlohmann::json;

json orderToJson(const Order& o) {
  json out{{"order_id", o.id},
           {"kind", protocol::kind::kCardTopup},
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

json orderListToJson(const std::vector<Order>& orders) {
  json out{{"orders", json::array()}};
  for (const auto& order : orders) out["orders"].push_back(orderToJson(order));
  return out;
}

json feeItemsToJson(const std::vector<OrderFeeItem>& items) {
  json out = json::array();
  for (const auto& i : items) out.push_back({{"fee_id", i.feeId}, {"item", i.item}, {"amount", i.amount}});
  return out;
}

json kioskConfigToJson(KioskConfig config, std::int64_t minAmount, std::int64_t maxAmount,
                       const protocol::ServiceInfo& defaults) {
  config.minAmount = minAmount;
  config.maxAmount = maxAmount;
  // What the kiosk does not set itself, the service's settings give.
  if (config.service.phone.empty()) config.service.phone = defaults.phone;
  if (config.service.hours.empty()) config.service.hours = defaults.hours;
  if (config.service.timeZone.empty()) config.service.timeZone = defaults.timeZone;
  return protocol::encodeKioskConfig(config);
}

json createdToJson(const NewTariff& t) {
  return {{"id", t.id}, {"name", t.name}, {"utility", t.utility}, {"spec", tariffToJson(t.tariff)}};
}

json createdToJson(const NewAccount& a) {
  return {{"id", a.id},          {"building", a.building},     {"room", a.room},
          {"household", a.household}, {"fee_policy", a.feePolicy}, {"fee_share_pct", a.feeSharePct}};
}

json createdToJson(const NewMeter& m) {
  return {{"number", m.number},     {"account_id", m.accountId}, {"utility", m.utility},
          {"tariff_id", m.tariffId}, {"key_version", m.keyVersion}};
}

json createdToJson(const NewCard& c) {
  return {{"number", c.number},           {"kind", c.kind}, {"account_id", c.accountId},
          {"meter_number", c.meterNumber}, {"status", "ACTIVE"}};
}

json createdToJson(const NewFee& f) {
  return {{"id", f.id}, {"account_id", f.accountId}, {"item", f.item}, {"amount", f.amount}};
}

json createdToJson(const NewKiosk& k) {
  return {{"id", k.id}, {"secret", k.secret}, {"location", k.location}, {"building", k.building}};
}

json createdToJson(const NewStaff& s) {
  return {{"id", s.id}, {"name", s.name}, {"card_number", s.cardNumber}};
}

json revenueToJson(const std::vector<RevenueRow>& rows, RevenuePeriod period, RevenueGroup by) {
  const std::string periodName = period == RevenuePeriod::Day ? "day" : "month";
  const std::string byName = by == RevenueGroup::Kiosk ? "kiosk" : "building";
  json out{{"period", periodName}, {"by", byName}, {"rows", json::array()}};
  for (const auto& r : rows) {
    out["rows"].push_back({{byName, r.group}, {periodName, r.bucket}, {"amount", r.amount},
                           {"fees", r.fees}, {"credit", r.credit}, {"orders", r.orders}});
  }
  return out;
}

json reconciliationToJson(const Reconciliation& report) {
  auto sum = [](const Reconciliation::Sum& s) { return json{{"count", s.count}, {"amount", s.amount}}; };
  json out;
  out["orders"] = json::object();
  for (const auto& [orderState, s] : report.ordersByState) out["orders"][orderState] = sum(s);
  out["orders_total"] = report.ordersTotal;
  out["payments"] = {{"count", report.payments.count},
                     {"amount", report.payments.amount},
                     {"amount_mismatch", sum(report.amountMismatch)}};
  const auto& m = report.money;
  out["money"] = {{"received", m.received},
                  {"allocated_to_orders", m.allocatedToOrders},
                  {"fees_settled", m.feesSettled},
                  {"credit_awaiting_token", m.creditAwaitingToken},
                  {"tokens_issued", m.tokensIssued},
                  {"refund_pending", m.refundPending},
                  {"refunded", m.refunded}};
  out["tokens"] = {{"issued", sum(report.tokensIssued)},
                   {"delivered", sum(report.tokensDelivered)},
                   {"loaded", sum(report.tokensLoaded)}};
  json unaccounted = json::array();
  for (const auto& d : report.unaccounted) {
    json item{{"kind", d.kind}};
    if (d.difference) item["difference"] = *d.difference;
    if (!d.orderId.empty()) item["order_id"] = d.orderId;
    unaccounted.push_back(item);
  }
  out["unaccounted"] = unaccounted;
  out["balanced"] = report.balanced();
  return out;
}

json warningsToJson(const std::vector<ConsumptionWarning>& warnings) {
  json out = json::array();
  for (const auto& w : warnings) {
    json item{{"kind", w.kind}, {"meter_number", w.meterNumber}, {"account_id", w.accountId},
              {"at", w.at}};
    if (w.daily) item["daily"] = *w.daily;
    if (w.medianDaily) item["median_daily"] = *w.medianDaily;
    out.push_back(item);
  }
  return json{{"warnings", out}};
}

}  // namespace kiosk::cloud
