#pragma once
// Demo data for simulation and manual testing: tariffs of each kind, a building of accounts
// with meters, cards and fees, a kiosk and a staff member.

#include "cloud/store.hpp"

#include <nlohmann/json.hpp>

namespace kiosk::cloud {

// Idempotent: rows that already exist are left alone. Returns what a kiosk needs to connect
// (kiosk id and secret) and the demo card numbers.
CloudResult<nlohmann::json> seedDemo(Store& store, const std::string& kioskSecret, std::int64_t now);

}  // namespace kiosk::cloud
