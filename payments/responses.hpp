#pragma once
// What the kiosk API returns, as the kiosk uses it: decoded, checked and typed. Money is in
// minor units; times are Unix seconds.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "card/profile.hpp"
#include "card/write_script.hpp"
#include "protocol/card_summary.hpp"
#include "protocol/kiosk_config.hpp"
#include "protocol/orders.hpp"

namespace kiosk::payments {

using protocol::OrderState;

struct Order {
  std::string id;
  protocol::OrderKind kind = protocol::OrderKind::CardTopup;
  std::string kioskId;
  std::string cardNumber;
  std::string meterNumber;
  std::string origin;         // KIOSK, LATE_PAYMENT, DOUBLE_PAYMENT
  std::string originOrderId;  // for LATE_PAYMENT: the order the money was meant for
  std::int64_t amount = 0;
  std::int64_t fees = 0;      // of amount, paying fees owed
  std::int64_t credit = 0;    // of amount, going onto the card
  OrderState state = OrderState::Created;
  std::string reason;         // DECLINED, TIMEOUT, KIOSK, ...
  std::string qrUrl;          // only while CREATED
  std::int64_t createdAt = 0;
  std::int64_t expiresAt = 0;
  std::int64_t updatedAt = 0;
};

struct FeeItem {
  std::string feeId;
  std::string item;
  std::int64_t amount = 0;
};

struct CreatedOrder {
  Order order;
  bool created = false;  // false: the idempotency key found the order made earlier
  std::vector<FeeItem> feeItems;
};

using FeeOwed = protocol::FeeOwed;
using CardSummary = protocol::CardSummary;

// The token the cloud minted for an order, with the script that writes it.
struct IssuedToken {
  std::string orderId;
  card::CreditToken token;
  std::string hex;  // the 32-byte CREDIT record, upper-case hex
  std::string deliveryNonce;  // hex, 16 bytes: what the card signs with the record as proof
};

// What the kiosk offers the cloud as proof that a token reached the card (hex, one of the
// two): the card's signature of the token's CREDIT record with the order's delivery nonce, or,
// when the meter loaded the token and freed its record first, the meter's RETURN showing it.
// Journaled as the JSON object the confirmation carries, so a confirmation sent again after a
// crash carries it too.
struct DeliveryProof {
  std::string cardSignature;
  std::string meterReturn;

  bool empty() const { return cardSignature.empty() && meterReturn.empty(); }
  std::string toJson() const;
  // An empty proof for text that is not such an object (a transaction journaled without one).
  static DeliveryProof fromJson(std::string_view text);
};

struct ScriptReply {
  IssuedToken issued;
  card::WriteScript script;
};

// What the kiosk knows when it asks for a write script; the answer must fit all of it.
struct ScriptExpectation {
  std::string orderId;
  std::uint64_t meterNumber = 0;            // from the card's authenticated ID file
  card::Utility utility = card::Utility::Electricity;
  std::optional<std::int64_t> credit;       // the order's credit, when known
  std::optional<std::string> tokenHex;      // the token journaled earlier for this order
};

struct JournalAck {
  std::int64_t accepted = 0;
  std::int64_t duplicates = 0;
  std::int64_t lastSeq = 0;
};

struct ReadingAck {
  bool stored = false;
  std::int64_t tokensLoaded = 0;
};

// The kiosk configuration, as protocol/kiosk_config.hpp defines it for both sides.
using protocol::BlockedCard;
using protocol::KioskConfig;
using protocol::StaffMember;
using Tariff = protocol::ConfigTariff;

}  // namespace kiosk::payments
