#include "protocol/kiosk_config.hpp"

#include <algorithm>
#include <limits>

#include "protocol/json_fields.hpp"
#include "protocol/json_reader.hpp"
#include "protocol/limits.hpp"
#include "protocol/text.hpp"
#include "platform/time_format.hpp"

namespace kiosk::protocol {

namespace {

using nlohmann::json;
using namespace limits;

constexpr const char* kReceiptBaseUrl = "receipt_base_url";

bool isHttpUrl(std::string_view url) {
  return url.starts_with("https://") || url.starts_with("http://");
}

// The rate the amount screen shows, as the meter's PARAMS carry it: the single rate, the
// first tier, or the flat band (else the first band).
void readRate(JsonReader& item, ConfigTariff& tariff) {
  JsonReader spec = item.object("spec");
  tariff.kind = spec.string("kind", kMaxKindLength);
  if (!item.ok()) return;
  if (tariff.kind == "single") {
    tariff.pricePerUnit = spec.integer("rate", 1, kMaxMoney);
  } else if (tariff.kind == "tiered") {
    bool first = true;
    spec.array("tiers", kMaxTariffSteps, [&](JsonReader& tier) {
      const auto rate = tier.integer("rate", 1, kMaxMoney);
      if (first) tariff.pricePerUnit = rate;
      first = false;
    });
    spec.check(!spec.ok() || !first, "tiers is empty");
  } else if (tariff.kind == "time_of_use") {
    std::int64_t flat = 0;
    std::int64_t any = 0;
    spec.array("bands", kMaxTariffSteps, [&](JsonReader& band) {
      const auto rate = band.integer("rate", 1, kMaxMoney);
      if (band.string("name", kMaxKindLength) == "flat") flat = rate;
      if (any == 0) any = rate;
    });
    spec.check(!spec.ok() || any != 0, "bands is empty");
    tariff.pricePerUnit = flat != 0 ? flat : any;
  } else {
    spec.checkField(false, "kind", "is not a known tariff kind (" + tariff.kind + ")");
  }
  if (const json* raw = item.find("spec"); raw != nullptr && item.ok()) tariff.spec = raw->dump();
}

}  // namespace

bool KioskConfig::blocked(std::string_view cardNumber) const {
  return std::any_of(blockedCards.begin(), blockedCards.end(),
                     [&](const BlockedCard& c) { return c.number == cardNumber; });
}

const ConfigTariff* KioskConfig::tariff(std::string_view id) const {
  const auto it = std::find_if(tariffs.begin(), tariffs.end(),
                               [&](const ConfigTariff& t) { return t.id == id; });
  return it == tariffs.end() ? nullptr : &*it;
}

json encodeKioskConfig(const KioskConfig& config) {
  json out{{"kiosk", {{"id", config.kioskId},
                      {"location", config.location},
                      {"building", config.building}}},
           {"limits", {{"min_amount", config.minAmount}, {"max_amount", config.maxAmount}}}};
  out["tariffs"] = json::array();
  for (const auto& t : config.tariffs) {
    out["tariffs"].push_back({{"id", t.id}, {"name", t.name}, {"utility", t.utility},
                              {"spec", json::parse(t.spec, nullptr, false)}});
  }
  out["blocked_cards"] = json::array();
  for (const auto& c : config.blockedCards) {
    out["blocked_cards"].push_back({{"number", c.number}, {"status", c.status}});
  }
  out["blocked_cards_total"] = config.blockedCardsTotal;
  out["staff"] = json::array();
  for (const auto& s : config.staff) {
    json member{{"id", s.id},
                {"name", s.name},
                {"pin", {{"algorithm", s.pinAlgorithm},
                         {"salt", s.pinSalt},
                         {"hash", s.pinHash},
                         {"iterations", s.pinIterations}}}};
    member["card_number"] = s.cardNumber ? json(*s.cardNumber) : json(nullptr);
    out["staff"].push_back(member);
  }
  out["service"] = {{"phone", config.service.phone},
                    {"hours", config.service.hours},
                    {"time_zone", config.service.timeZone}};
  if (!config.receiptBaseUrl.empty()) setReceiptBaseUrl(out, config.receiptBaseUrl);
  return out;
}

void setReceiptBaseUrl(json& document, const std::string& url) { document[kReceiptBaseUrl] = url; }

Result<KioskConfig, std::string> decodeKioskConfig(const json& document) {
  JsonReader r = JsonReader::root(document);
  KioskConfig config;
  JsonReader kiosk = r.object("kiosk");
  config.kioskId = kiosk.string("id", kMaxIdLength);
  config.location = kiosk.string("location", kMaxLocationLength, true);
  config.building = kiosk.string("building", kMaxPlaceLength, true);
  JsonReader amounts = r.object("limits");
  config.minAmount = amounts.integer("min_amount", 1, kMaxMoney);
  config.maxAmount = amounts.integer("max_amount", 1, kMaxMoney);
  r.check(!r.ok() || config.minAmount <= config.maxAmount, "limits.min_amount exceeds max_amount");
  r.array("tariffs", kMaxTariffs, [&](JsonReader& item) {
    ConfigTariff tariff;
    tariff.id = item.string("id", kMaxIdLength);
    tariff.name = item.string("name", kMaxNameLength, true);
    tariff.utility = item.string("utility", kMaxUtilityLength);
    readRate(item, tariff);
    config.tariffs.push_back(std::move(tariff));
  });
  r.array("blocked_cards", kMaxBlockedCards, [&](JsonReader& item) {
    BlockedCard card;
    card.number = readNumber(item, "number");
    card.status = item.string("status", 16);
    config.blockedCards.push_back(std::move(card));
  });
  // How many are blocked in all: the list holds the most recent ones when there are more.
  config.blockedCardsTotal =
      r.optInteger("blocked_cards_total", 0, std::numeric_limits<std::int64_t>::max())
          .value_or(static_cast<std::int64_t>(config.blockedCards.size()));
  r.array("staff", kMaxStaff, [&](JsonReader& item) {
    StaffMember member;
    member.id = item.string("id", kMaxIdLength);
    member.name = item.string("name", kMaxNameLength, true);
    JsonReader pin = item.object("pin");
    member.pinAlgorithm = pin.string("algorithm", 64);
    member.pinSalt = pin.string("salt", 128);
    member.pinHash = pin.string("hash", 256);
    member.pinIterations = pin.integer("iterations", 1, 10'000'000);
    const std::string cardNumber = item.optString("card_number", kMaxNumberLength);
    if (!cardNumber.empty()) member.cardNumber = cardNumber;
    config.staff.push_back(std::move(member));
  });
  // Whom residents call and the zone times are shown in; a document without them (a cloud
  // that configures none) leaves them empty.
  if (document.is_object() && document.contains("service")) {
    JsonReader service = r.object("service");
    config.service.phone = service.optString("phone", kMaxServiceTextLength);
    config.service.hours = service.optString("hours", kMaxServiceTextLength);
    config.service.timeZone = service.optString("time_zone", kMaxZoneLength);
    r.check(!r.ok() || config.service.timeZone.empty() || platform::knownZone(config.service.timeZone),
            "service.time_zone is not a known time zone");
  }
  config.receiptBaseUrl = r.optString(kReceiptBaseUrl, 1024);
  r.checkField(config.receiptBaseUrl.empty() || isHttpUrl(config.receiptBaseUrl), kReceiptBaseUrl,
               "is not an http(s) URL");
  if (!r.ok()) return fail(r.problem());
  return config;
}

}  // namespace kiosk::protocol
