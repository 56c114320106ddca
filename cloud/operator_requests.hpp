#pragma once
// Operator requests read from their JSON bodies into the store's typed requests, and checked
// on the way: the one place the operator API validates what it is sent (lengths as kiosks
// read them, the values each field may take) before the store sees it.

#include "cloud/error.hpp"
#include "cloud/store_types.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace kiosk::cloud {

CloudResult<NewTariff> readNewTariff(const nlohmann::json& body);
CloudResult<NewAccount> readNewAccount(const nlohmann::json& body);
CloudResult<NewMeter> readNewMeter(const nlohmann::json& body);
CloudResult<NewCard> readNewCard(const nlohmann::json& body);
// "public_key": the card key from its ID file, 65 bytes of hex (04 || X || Y); empty when
// absent and not `required`.
CloudResult<std::string> readCardPublicKey(const nlohmann::json& body, bool required);
// Without an id, the fee gets a new one.
CloudResult<NewFee> readNewFee(const nlohmann::json& body);
// Without a secret, the kiosk gets a new one.
CloudResult<NewKiosk> readNewKiosk(const nlohmann::json& body);
CloudResult<NewStaff> readNewStaff(const nlohmann::json& body);

// The status an operator gives a row of `table`: ACTIVE or BLOCKED, or LOST for a card.
CloudResult<std::string> readStatus(const std::string& table, const nlohmann::json& body);

}  // namespace kiosk::cloud
