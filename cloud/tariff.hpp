#pragma once
// Tariffs: how much a unit (kWh, cubic metre) costs. A single rate; tiers by the month's
// consumption so far; or time-of-use bands (peak, flat, valley) by local hour. Rates are
// integer minor units per unit; consumption is in thousandths of a unit, as meters count it.

#include "cloud/error.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiosk::cloud {

struct TariffTier {
  std::optional<std::int64_t> upTo;  // units per month where this tier ends; none: no limit
  std::int64_t rate = 0;
};

struct TariffBand {
  std::string name;  // peak, flat, valley
  int fromHour = 0;  // inclusive, 0..23
  int toHour = 24;   // exclusive, 1..24; a band may wrap past midnight (22 -> 6)
  std::int64_t rate = 0;
};

struct Tariff {
  enum class Kind { Single, Tiered, TimeOfUse };
  Kind kind = Kind::Single;
  std::int64_t rate = 0;  // Single
  std::vector<TariffTier> tiers;
  std::vector<TariffBand> bands;
};

// Parses and checks a tariff spec: {"kind":"single","rate":56},
// {"kind":"tiered","tiers":[{"up_to":200,"rate":56},{"rate":86}]},
// {"kind":"time_of_use","bands":[{"name":"peak","from":8,"to":22,"rate":90}, ...]}
// (time-of-use bands must cover the 24 hours exactly once).
CloudResult<Tariff> parseTariff(const nlohmann::json& spec);
nlohmann::json tariffToJson(const Tariff& tariff);
std::string_view kindName(Tariff::Kind kind);

// How many thousandths of a unit `amount` minor units buy, given what was already used this
// month (thousandths) and, for time of use, the local hour of purchase. Rounds down.
std::int64_t estimateUnits(const Tariff& tariff, std::int64_t amount,
                           std::int64_t monthConsumption, int hour);

}  // namespace kiosk::cloud
