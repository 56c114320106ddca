#pragma once
// A card as a kiosk shows it after lookup (GET /v1/kiosk/cards/{number}): the card, and for a
// resident's card the account, the meter with its last reading, the fees owed, the credit
// paid for but not yet on the card, and the last orders. The cloud fills and encodes it; the
// kiosk decodes it strictly. Money is in minor units; times are Unix seconds.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/result.hpp"
#include "protocol/orders.hpp"

namespace kiosk::protocol {

struct FeeOwed {
  std::string id;
  std::string item;  // property, rent, water, other
  std::string description;
  std::int64_t owed = 0;
};

struct CardSummary {
  struct Card {
    std::string number;
    std::string kind;  // resident, staff
    std::string status;
  };
  struct Account {
    std::string id;
    std::string resident;  // the store's whole name; the cloud masks it before it leaves
    std::string building;
    std::string room;
    std::string household;
    std::string feePolicy;  // FEES_FIRST, PERCENT, CREDIT_ONLY
  };
  struct Reading {
    std::int64_t at = 0;
    std::int64_t remaining = 0;
    std::int64_t consumption = 0;
    std::int64_t flags = 0;
    std::int64_t lastSequence = 0;
  };
  struct Meter {
    std::string number;
    std::string utility;  // electricity, water
    std::string tariffId;
    std::int64_t keyVersion = 1;
    std::optional<Reading> lastReading;
  };
  // Credit paid for but not yet on the card, from any kiosk.
  struct Pending {
    std::string orderId;
    std::int64_t credit = 0;
    OrderState state = OrderState::Paid;
  };
  struct Recent {
    std::string orderId;
    std::int64_t amount = 0;
    std::int64_t credit = 0;
    OrderState state = OrderState::Paid;
    std::int64_t at = 0;
  };

  Card card;
  // The rest is a resident card's: a staff card has no account, meter, fees or orders.
  std::optional<Account> account;
  std::optional<Meter> meter;
  std::vector<FeeOwed> fees;
  std::vector<Pending> pending;
  std::vector<Recent> recent;

  std::int64_t feesTotal() const;
};

nlohmann::json encodeCardSummary(const CardSummary& summary);
// Refuses a summary with a missing, mistyped or out-of-range field, a resident card without
// account or meter, fees_total that is not the sum of the fees, or pending credit in a state
// that awaits no delivery; the message names the field.
Result<CardSummary, std::string> decodeCardSummary(const nlohmann::json& document);

}  // namespace kiosk::protocol
