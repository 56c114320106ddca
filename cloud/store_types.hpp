#pragma once
// What the billing store takes and returns: plain structs, no JSON. The routes read requests
// into them (and check them first) and write their answers from them (cloud/api_json.hpp).

#include "cloud/tariff.hpp"
#include "protocol/card_summary.hpp"
#include "protocol/kiosk_config.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiosk::cloud {

// ---------------------------------------------------------------------------------------
// Orders, payments and tokens

struct Order {
  std::string id;
  std::string kioskId;
  std::string cardNumber;
  std::string accountId;
  std::string meterNumber;
  std::string origin;  // KIOSK, LATE_PAYMENT
  std::string originOrderId;
  std::int64_t amount = 0;
  std::int64_t feeAmount = 0;
  std::int64_t creditAmount = 0;
  std::string state;
  std::string reason;
  std::string provider;
  std::int64_t createdAt = 0;
  std::int64_t expiresAt = 0;
  std::optional<std::int64_t> paidAt;
  std::optional<std::int64_t> tokenIssuedAt;
  std::optional<std::int64_t> deliveredAt;
  std::int64_t updatedAt = 0;
};

struct CreateOrderRequest {
  std::string kioskId;
  std::string idempotencyKey;
  std::string cardNumber;
  std::int64_t amount = 0;
  std::string challenge;
  std::string requestHash;  // SHA-256 of the request body, to detect a reused key
  std::string provider;
  std::int64_t minAmount = 0;
  std::int64_t maxAmount = 0;
  std::int64_t ttlSeconds = 0;
};

// A fee an order settles, and how much of it.
struct OrderFeeItem {
  std::string feeId;
  std::string item;
  std::int64_t amount = 0;
};

struct CreatedOrder {
  Order order;
  bool created = false;  // false: the idempotency key returned an existing order
  std::vector<OrderFeeItem> feeItems;
};

struct IssuedToken {
  std::string orderId;
  std::string meterNumber;
  std::int64_t sequence = 0;
  std::int64_t amount = 0;
  std::int64_t keyVersion = 1;
  std::int64_t issuedAt = 0;
  std::string tokenHex;
  bool minted = false;  // true only for the call that minted it
  std::string deliveryNonce;  // hex; the card signs it with the token's record
};

enum class PaymentOutcome {
  Applied,      // the order became PAID
  LateCredit,   // arrived after cancel/expiry: a new PAID order carries the credit
  LateRefund,   // arrived after cancel/expiry for a card that can no longer take credit
  Duplicate,    // this provider event was already recorded
  Declined,     // the payer declined: the order was canceled
  Ignored,      // a decline for an order that is no longer waiting
  AmountMismatch,
};
std::string_view outcomeName(PaymentOutcome outcome);

struct PaymentEvent {
  std::string eventId;
  std::string orderId;
  std::string provider;
  std::string status;  // SUCCESS, DECLINED
  std::int64_t amount = 0;
};

struct PaymentResult {
  PaymentOutcome outcome = PaymentOutcome::Ignored;
  std::string orderId;  // the order that carries the money (a new one for late payments)
};

// A signed kiosk request, checked and recorded inside the transaction that does its work:
// the nonce is inserted there (a replay fails with ReplayedNonce) and, for an order's script
// and delivery, the order must be for the card in front of the kiosk and be the kiosk's own or
// credit pending on that card. A refused request's transaction rolls back with its nonce: the
// caller spends the nonce with rememberNonce(). Empty fields skip these steps (operator tools,
// tests of the store).
struct KioskCaller {
  std::string kioskId;
  std::string nonce;
  std::string cardNumber;
};

// ---------------------------------------------------------------------------------------
// What kiosks read and send

struct KioskAuth {
  std::string secret;
  std::string status;
};

struct JournalEvent {
  std::int64_t seq = 0;
  std::string type;
  std::int64_t at = 0;
  std::string payload;  // JSON text
};

using FeeOwed = protocol::FeeOwed;
// A card as a kiosk shows it after lookup; the schema is the protocol's.
using CardSummary = protocol::CardSummary;

// What a kiosk's configuration holds from the store; the schema is the protocol's.
using KioskConfig = protocol::KioskConfig;

// ---------------------------------------------------------------------------------------
// Operator writes: requests the routes have read and checked (cloud/operator_requests.hpp)

struct NewTariff {
  std::string id;
  std::string name;
  std::string utility;  // electricity, water
  Tariff tariff;
};

struct NewAccount {
  std::string id;
  std::string resident;
  std::string building;
  std::string room;
  std::string household;
  std::string feePolicy = "FEES_FIRST";  // FEES_FIRST, PERCENT, CREDIT_ONLY
  std::int64_t feeSharePct = 100;
};

struct NewMeter {
  std::string number;
  std::string accountId;
  std::string utility;
  std::string tariffId{};  // empty: none
  std::int64_t keyVersion = 1;
};

struct NewCard {
  std::string number;
  std::string kind;         // resident, staff
  std::string accountId{};    // empty: none (staff)
  std::string meterNumber{};  // empty: none (staff)
  std::string publicKey{};    // hex; empty: not known yet
};

struct NewFee {
  std::string id;
  std::string accountId;
  std::string item;  // property, rent, water, other
  std::string description{};
  std::int64_t amount = 0;
};

struct NewKiosk {
  std::string id;
  std::string secret;
  std::string location{};
  std::string building{};
  std::string servicePhone{};  // empty: the service's
  std::string serviceHours{};
  std::string timeZone{};
};

struct NewStaff {
  std::string id;
  std::string name;
  std::string pin;         // digits; the store keeps only its PBKDF2 hash
  std::string cardNumber{};  // empty: none
};

// What card issuance needs to know of a card.
struct CardIssueInfo {
  std::string number;
  std::string kind;
  std::string accountId;
  std::string meterNumber;
  std::string utility;
  std::optional<std::string> tariffSpec;  // JSON text of the meter's tariff, if it has one
};

// ---------------------------------------------------------------------------------------
// Reports

enum class RevenuePeriod { Day, Month };
enum class RevenueGroup { Kiosk, Building };

// Money kept (paid and not sent back) by group and UTC day or month.
struct RevenueRow {
  std::string group;   // a kiosk id or a building
  std::string bucket;  // 2026-01-31 or 2026-01
  std::int64_t amount = 0;
  std::int64_t fees = 0;
  std::int64_t credit = 0;
  std::int64_t orders = 0;
};

struct Reconciliation {
  struct Sum {
    std::int64_t count = 0;
    std::int64_t amount = 0;
  };
  // Where the money received went: each minor unit is in one of the fees settled, the tokens
  // issued, the credit awaiting its token, or on its way back (refund pending, refunded).
  struct Money {
    std::int64_t received = 0;
    std::int64_t allocatedToOrders = 0;
    std::int64_t feesSettled = 0;
    std::int64_t creditAwaitingToken = 0;
    std::int64_t tokensIssued = 0;
    std::int64_t refundPending = 0;
    std::int64_t refunded = 0;
  };
  // Something that does not add up: a difference of money, or an order.
  struct Discrepancy {
    std::string kind;  // PAYMENTS_VS_ORDERS, ALLOCATION, ORDER_NOT_EXPIRED, TOKEN_MISSING
    std::optional<std::int64_t> difference;
    std::string orderId;
  };

  std::map<std::string, Sum> ordersByState;
  std::int64_t ordersTotal = 0;
  Sum payments;
  Sum amountMismatch;
  Money money;
  Sum tokensIssued;
  Sum tokensDelivered;
  Sum tokensLoaded;
  std::vector<Discrepancy> unaccounted;

  bool balanced() const { return unaccounted.empty(); }
};

struct ConsumptionWarning {
  std::string kind;  // TAMPER, CONSUMPTION_DECREASED, CONSUMPTION_HIGH, CONSUMPTION_LOW
  std::string meterNumber;
  std::string accountId;
  std::int64_t at = 0;
  // For CONSUMPTION_HIGH and _LOW: the rate, and the median of the ones before it
  // (thousandths of a unit per day).
  std::optional<std::int64_t> daily;
  std::optional<std::int64_t> medianDaily;
};

}  // namespace kiosk::cloud
