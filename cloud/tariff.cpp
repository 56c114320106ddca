#include "cloud/tariff.hpp"

#include "protocol/limits.hpp"

#include <array>

namespace kiosk::cloud {
namespace {

namespace limits = protocol::limits;

// Rates up to what a kiosk reads as money.
CloudResult<std::int64_t> positiveRate(const nlohmann::json& object, const char* what) {
  if (!object.is_object() || !object.contains("rate") || !object["rate"].is_number_integer() ||
      object["rate"].get<std::int64_t>() <= 0 || object["rate"].get<std::int64_t>() > limits::kMaxMoney) {
    return failWith(CloudError::BadRequest, std::string(what) + ": rate must be an integer from 1 to " +
                                                std::to_string(limits::kMaxMoney));
  }
  return object["rate"].get<std::int64_t>();
}

}  // namespace

std::string_view kindName(Tariff::Kind kind) {
  switch (kind) {
    case Tariff::Kind::Single: return "single";
    case Tariff::Kind::Tiered: return "tiered";
    case Tariff::Kind::TimeOfUse: return "time_of_use";
  }
  return "single";
}

CloudResult<Tariff> parseTariff(const nlohmann::json& spec) {
  if (!spec.is_object() || !spec.contains("kind") || !spec["kind"].is_string()) {
    return failWith(CloudError::BadRequest, "tariff needs a kind");
  }
  const auto kind = spec["kind"].get<std::string>();
  Tariff tariff;
  if (kind == "single") {
    auto rate = positiveRate(spec, "single tariff");
    if (!rate) return Unexpected<Failure>{rate.error()};
    tariff.rate = *rate;
    return tariff;
  }
  if (kind == "tiered") {
    tariff.kind = Tariff::Kind::Tiered;
    if (!spec.contains("tiers") || !spec["tiers"].is_array() || spec["tiers"].empty()) {
      return failWith(CloudError::BadRequest, "tiered tariff needs tiers");
    }
    std::int64_t previous = 0;
    const auto& tiers = spec["tiers"];
    if (tiers.size() > limits::kMaxTariffSteps) {
      return failWith(CloudError::BadRequest,
                      "tiers: at most " + std::to_string(limits::kMaxTariffSteps));
    }
    for (std::size_t i = 0; i < tiers.size(); ++i) {
      auto rate = positiveRate(tiers[i], "tier");
      if (!rate) return Unexpected<Failure>{rate.error()};
      TariffTier tier{std::nullopt, *rate};
      const bool last = i + 1 == tiers.size();
      if (tiers[i].contains("up_to") && !tiers[i]["up_to"].is_null()) {
        if (!tiers[i]["up_to"].is_number_integer() ||
            tiers[i]["up_to"].get<std::int64_t>() <= previous) {
          return failWith(CloudError::BadRequest, "tier limits must increase");
        }
        tier.upTo = tiers[i]["up_to"].get<std::int64_t>();
        previous = *tier.upTo;
      }
      if (last == tier.upTo.has_value()) {
        return failWith(CloudError::BadRequest, "only the last tier is open-ended");
      }
      tariff.tiers.push_back(tier);
    }
    return tariff;
  }
  if (kind == "time_of_use") {
    tariff.kind = Tariff::Kind::TimeOfUse;
    if (!spec.contains("bands") || !spec["bands"].is_array() || spec["bands"].empty()) {
      return failWith(CloudError::BadRequest, "time-of-use tariff needs bands");
    }
    if (spec["bands"].size() > limits::kMaxTariffSteps) {
      return failWith(CloudError::BadRequest,
                      "bands: at most " + std::to_string(limits::kMaxTariffSteps));
    }
    std::array<int, 24> covered{};
    for (const auto& item : spec["bands"]) {
      auto rate = positiveRate(item, "band");
      if (!rate) return Unexpected<Failure>{rate.error()};
      if (!item.contains("name") || !item["name"].is_string() || !item.contains("from") ||
          !item["from"].is_number_integer() || !item.contains("to") ||
          !item["to"].is_number_integer()) {
        return failWith(CloudError::BadRequest, "band needs name, from and to hours");
      }
      TariffBand band{item["name"].get<std::string>(), item["from"].get<int>(),
                      item["to"].get<int>(), *rate};
      if (band.name != "peak" && band.name != "flat" && band.name != "valley") {
        return failWith(CloudError::BadRequest, "band name must be peak, flat or valley");
      }
      if (band.fromHour < 0 || band.fromHour > 23 || band.toHour < 1 || band.toHour > 24 ||
          band.fromHour == band.toHour) {
        return failWith(CloudError::BadRequest, "band hours out of range");
      }
      for (int h = band.fromHour; h != band.toHour; h = (h + 1) % 24) {
        ++covered[static_cast<std::size_t>(h)];
        if (h == 23 && band.toHour == 24) break;
      }
      tariff.bands.push_back(band);
    }
    for (int count : covered) {
      if (count != 1) {
        return failWith(CloudError::BadRequest, "bands must cover every hour exactly once");
      }
    }
    return tariff;
  }
  return failWith(CloudError::BadRequest, "unknown tariff kind: " + kind);
}

nlohmann::json tariffToJson(const Tariff& tariff) {
  nlohmann::json out{{"kind", kindName(tariff.kind)}};
  switch (tariff.kind) {
    case Tariff::Kind::Single:
      out["rate"] = tariff.rate;
      break;
    case Tariff::Kind::Tiered:
      out["tiers"] = nlohmann::json::array();
      for (const auto& tier : tariff.tiers) {
        nlohmann::json item{{"rate", tier.rate}};
        item["up_to"] = tier.upTo ? nlohmann::json(*tier.upTo) : nlohmann::json(nullptr);
        out["tiers"].push_back(item);
      }
      break;
    case Tariff::Kind::TimeOfUse:
      out["bands"] = nlohmann::json::array();
      for (const auto& band : tariff.bands) {
        out["bands"].push_back(
            {{"name", band.name}, {"from", band.fromHour}, {"to", band.toHour}, {"rate", band.rate}});
      }
      break;
  }
  return out;
}

std::int64_t estimateUnits(const Tariff& tariff, std::int64_t amount,
                           std::int64_t monthConsumption, int hour) {
  if (amount <= 0) return 0;
  switch (tariff.kind) {
    case Tariff::Kind::Single:
      return amount * 1000 / tariff.rate;
    case Tariff::Kind::TimeOfUse:
      for (const auto& band : tariff.bands) {
        const bool inside = band.fromHour < band.toHour
                                ? hour >= band.fromHour && hour < band.toHour
                                : hour >= band.fromHour || hour < band.toHour;
        if (inside) return amount * 1000 / band.rate;
      }
      return 0;
    case Tariff::Kind::Tiered: break;
  }
  // Walk the tiers from this month's position; money left over buys at the next tier's rate.
  std::int64_t units = 0;
  std::int64_t used = monthConsumption;
  std::int64_t money = amount;
  for (const auto& tier : tariff.tiers) {
    if (money <= 0) break;
    if (tier.upTo && used >= *tier.upTo * 1000) continue;
    const std::int64_t room = tier.upTo ? *tier.upTo * 1000 - used : INT64_MAX / 2;
    const std::int64_t affordable = money * 1000 / tier.rate;
    if (affordable <= room) {
      units += affordable;
      break;
    }
    units += room;
    used += room;
    money -= room * tier.rate / 1000;
  }
  return units;
}

}  // namespace kiosk::cloud
