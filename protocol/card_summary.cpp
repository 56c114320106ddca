#include "protocol/card_summary.hpp"

#include <limits>

#include "protocol/json_fields.hpp"
#include "protocol/json_reader.hpp"
#include "protocol/limits.hpp"

namespace kiosk::protocol {

namespace {

using nlohmann::json;
using namespace limits;

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();

}  // namespace

std::int64_t CardSummary::feesTotal() const {
  std::int64_t total = 0;
  for (const auto& fee : fees) total += fee.owed;
  return total;
}

json encodeCardSummary(const CardSummary& s) {
  json out{{"card", {{"number", s.card.number}, {"kind", s.card.kind}, {"status", s.card.status}}}};
  if (!s.account) return out;
  const auto& a = *s.account;
  out["account"] = {{"id", a.id},     {"resident", a.resident},   {"building", a.building},
                    {"room", a.room}, {"household", a.household}, {"fee_policy", a.feePolicy}};
  if (s.meter) {
    const auto& m = *s.meter;
    out["meter"] = {{"number", m.number}, {"utility", m.utility}, {"tariff_id", m.tariffId},
                    {"key_version", m.keyVersion}};
    if (m.lastReading) {
      const auto& r = *m.lastReading;
      out["meter"]["last_reading"] = {{"at", r.at},          {"remaining", r.remaining},
                                      {"consumption", r.consumption}, {"flags", r.flags},
                                      {"last_sequence", r.lastSequence}};
    }
  }
  out["fees"] = json::array();
  for (const auto& fee : s.fees) {
    out["fees"].push_back({{"id", fee.id}, {"item", fee.item}, {"description", fee.description},
                           {"owed", fee.owed}});
  }
  out["fees_total"] = s.feesTotal();
  out["pending"] = json::array();
  for (const auto& p : s.pending) {
    out["pending"].push_back({{"order_id", p.orderId}, {"credit", p.credit}, {"state", toString(p.state)}});
  }
  out["recent"] = json::array();
  for (const auto& r : s.recent) {
    out["recent"].push_back({{"order_id", r.orderId}, {"amount", r.amount}, {"credit", r.credit},
                             {"state", toString(r.state)}, {"at", r.at}});
  }
  return out;
}

Result<CardSummary, std::string> decodeCardSummary(const json& document) {
  JsonReader r = JsonReader::root(document);
  CardSummary summary;
  JsonReader cardInfo = r.object("card");
  summary.card.number = readNumber(cardInfo, "number");
  summary.card.kind = cardInfo.string("kind", 16);
  summary.card.status = cardInfo.string("status", 16);
  cardInfo.checkField(!cardInfo.ok() || summary.card.kind == "resident" || summary.card.kind == "staff",
                      "kind", "is neither resident nor staff");
  if (r.ok() && summary.card.kind == "resident") {
    JsonReader accountInfo = r.object("account");
    CardSummary::Account account;
    account.id = accountInfo.string("id", kMaxIdLength);
    account.resident = accountInfo.string("resident", kMaxNameLength, true);
    account.building = accountInfo.string("building", kMaxPlaceLength, true);
    account.room = accountInfo.string("room", kMaxPlaceLength, true);
    account.household = accountInfo.string("household", kMaxPlaceLength, true);
    account.feePolicy = accountInfo.string("fee_policy", kMaxKindLength);
    summary.account = std::move(account);

    JsonReader meterInfo = r.object("meter");
    CardSummary::Meter meter;
    meter.number = readNumber(meterInfo, "number");
    meter.utility = meterInfo.string("utility", kMaxUtilityLength);
    meterInfo.checkField(!meterInfo.ok() || meter.utility == "electricity" || meter.utility == "water",
                         "utility", "is neither electricity nor water");
    meter.tariffId = meterInfo.string("tariff_id", kMaxIdLength, true);
    meter.keyVersion = meterInfo.integer("key_version", 1, 255);
    if (meterInfo.find("last_reading") != nullptr) {
      JsonReader reading = meterInfo.object("last_reading");
      CardSummary::Reading last;
      last.at = reading.integer("at", 0, kMaxTime);
      last.remaining = reading.integer("remaining", -kMaxMoney, kMaxMoney);
      last.consumption = reading.integer("consumption", 0, kMaxInt);
      last.flags = reading.integer("flags", 0, 255);
      last.lastSequence = reading.integer("last_sequence", 0, 0xFFFFFFFF);
      meter.lastReading = last;
    }
    summary.meter = std::move(meter);

    r.array("fees", kMaxFeesOwed, [&](JsonReader& item) {
      FeeOwed fee;
      fee.id = item.string("id", kMaxIdLength);
      fee.item = item.string("item", kMaxKindLength);
      fee.description = item.string("description", kMaxDescriptionLength, true);
      fee.owed = item.integer("owed", 0, kMaxMoney);
      summary.fees.push_back(std::move(fee));
    });
    const std::int64_t total = r.integer("fees_total", 0, kMaxMoney);
    r.check(!r.ok() || total == summary.feesTotal(), "fees_total differs from the sum of fees");
    r.array("pending", kMaxOrderList, [&](JsonReader& item) {
      CardSummary::Pending pending;
      pending.orderId = readOrderId(item, "order_id");
      pending.credit = item.integer("credit", 1, kMaxMoney);
      pending.state = readOrderState(item, "state");
      item.checkField(!item.ok() || awaitsDelivery(pending.state), "state",
                      "is not a state awaiting delivery");
      summary.pending.push_back(std::move(pending));
    });
    r.array("recent", kMaxOrderList, [&](JsonReader& item) {
      CardSummary::Recent recent;
      recent.orderId = readOrderId(item, "order_id");
      recent.amount = item.integer("amount", 1, kMaxMoney);
      recent.credit = item.integer("credit", 0, kMaxMoney);
      recent.state = readOrderState(item, "state");
      recent.at = item.integer("at", 1, kMaxTime);
      summary.recent.push_back(std::move(recent));
    });
  }
  if (!r.ok()) return fail(r.problem());
  return summary;
}

}  // namespace kiosk::protocol
