#pragma once
// The API's JSON for what the store returns (orders, card summaries, kiosk configurations,
// created records, the operator's reports): the one place those answers are written.

#include "cloud/store_types.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace kiosk::cloud {

nlohmann::json orderToJson(const Order& order);
// {"orders": [...]}
nlohmann::json orderListToJson(const std::vector<Order>& orders);
nlohmann::json feeItemsToJson(const std::vector<OrderFeeItem>& items);

// Written as given: the caller masks what a lobby screen must not show in full. The service's
// limits, and its service contact and time zone where the kiosk has none of its own.
nlohmann::json kioskConfigToJson(KioskConfig config, std::int64_t minAmount,
                                 std::int64_t maxAmount, const protocol::ServiceInfo& defaults);

// What an operator's create request answers: the record as stored (a staff member's PIN
// never leaves).
nlohmann::json createdToJson(const NewTariff& tariff);
nlohmann::json createdToJson(const NewAccount& account);
nlohmann::json createdToJson(const NewMeter& meter);
nlohmann::json createdToJson(const NewCard& card);
nlohmann::json createdToJson(const NewFee& fee);
nlohmann::json createdToJson(const NewKiosk& kiosk);
nlohmann::json createdToJson(const NewStaff& staff);

nlohmann::json revenueToJson(const std::vector<RevenueRow>& rows, RevenuePeriod period,
                             RevenueGroup by);
nlohmann::json reconciliationToJson(const Reconciliation& report);
nlohmann::json warningsToJson(const std::vector<ConsumptionWarning>& warnings);

}  // namespace kiosk::cloud
