#pragma once
// The central billing store: accounts, meters, cards, tariffs, fees, kiosks, staff, orders,
// payments, tokens, journal events and meter readings, over SQLite or PostgreSQL. Every order
// state change is one conditional UPDATE (atomic and monotonic); every write that a client may
// repeat is idempotent.

#include "cloud/card_format.hpp"
#include "cloud/db.hpp"
#include "protocol/orders.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiosk::cloud {

// Order states as the kiosk-cloud contract names them.
namespace state = protocol::state;

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

struct KioskAuth {
  std::string secret;
  std::string status;
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

struct CreatedOrder {
  Order order;
  bool created = false;  // false: the idempotency key returned an existing order
  std::vector<nlohmann::json> feeItems;
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

struct JournalEvent {
  std::int64_t seq = 0;
  std::string type;
  std::int64_t at = 0;
  std::string payload;  // JSON text
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

class Store {
 public:
  explicit Store(Database& db) : m_db(db) {}
  Database& database() { return m_db; }

  // --- kiosk authentication
  CloudResult<KioskAuth> kioskAuth(const std::string& kioskId);
  // true when the nonce is new; false when it was already used (a replay).
  CloudResult<bool> rememberNonce(const std::string& kioskId, const std::string& nonce,
                                  std::int64_t now);
  CloudResult<std::int64_t> purgeNonces(std::int64_t olderThan);

  // --- kiosk API
  CloudResult<nlohmann::json> cardSummary(const std::string& cardNumber, std::int64_t now);
  CloudResult<CreatedOrder> createOrder(const CreateOrderRequest& request, std::int64_t now,
                                        const KioskCaller& caller = {});
  CloudResult<Order> order(const std::string& orderId);
  CloudResult<Order> cancelOrder(const std::string& kioskId, const std::string& orderId,
                                 std::int64_t now);
  CloudResult<PaymentResult> recordPayment(const PaymentEvent& event, std::int64_t now);
  // Mints the order's token on first call (next sequence of the meter) and returns the same
  // token on every later or concurrent call. A lost or blocked card (or account) gets none.
  CloudResult<IssuedToken> issueToken(const std::string& orderId, CardFormat& format,
                                      std::int64_t now, const KioskCaller& caller = {});
  CloudResult<Order> confirmDelivery(const std::string& orderId, std::int64_t sequence,
                                     std::int64_t now, const KioskCaller& caller = {});
  struct JournalResult {
    std::int64_t accepted = 0;
    std::int64_t duplicates = 0;
  };
  CloudResult<JournalResult> appendJournal(const std::string& kioskId,
                                           const std::vector<JournalEvent>& events,
                                           std::int64_t now);
  struct ReadingResult {
    bool stored = false;  // false: this reading was already known
    std::int64_t tokensLoaded = 0;
  };
  CloudResult<ReadingResult> recordReading(const std::string& kioskId, const std::string& cardNumber,
                                           const MeterReturn& reading, std::int64_t now);
  CloudResult<std::int64_t> meterKeyVersion(const std::string& meterNumber);
  CloudResult<nlohmann::json> kioskConfig(const std::string& kioskId, std::int64_t minAmount,
                                          std::int64_t maxAmount);

  // --- background work
  CloudResult<std::vector<std::string>> expireOrders(std::int64_t now);
  CloudResult<std::vector<Order>> ordersInState(const std::string& orderState, int limit);
  // Claims up to `limit` orders waiting for their refund, for `claimSeconds`: one conditional
  // update, so of several sweepers (in any number of processes) one gets each order, and only
  // it asks the provider. A claim that is not finished in time (its process died) lapses and
  // the order is claimed again; the provider's refund is idempotent by order id.
  CloudResult<std::vector<Order>> claimRefunds(const std::string& claimant, std::int64_t now,
                                               std::int64_t claimSeconds, int limit);
  // REFUND_PENDING -> REFUNDED, for the holder of the claim (InvalidState otherwise).
  CloudResult<Order> finishRefund(const std::string& orderId, const std::string& claimant,
                                  std::int64_t now);
  // Gives a claim up after the provider failed, so that the next sweep tries again.
  CloudResult<bool> releaseRefund(const std::string& orderId, const std::string& claimant);
  CloudResult<Order> transition(const std::string& orderId, const std::string& from,
                                const std::string& to, const std::string& reason,
                                std::int64_t now);

  // --- operator
  CloudResult<nlohmann::json> createTariff(const nlohmann::json& body, std::int64_t now);
  CloudResult<nlohmann::json> createAccount(const nlohmann::json& body, std::int64_t now);
  CloudResult<nlohmann::json> createMeter(const nlohmann::json& body, std::int64_t now);
  CloudResult<nlohmann::json> createCard(const nlohmann::json& body, std::int64_t now);
  CloudResult<nlohmann::json> createFee(const nlohmann::json& body, std::int64_t now);
  CloudResult<nlohmann::json> createKiosk(const nlohmann::json& body, std::int64_t now);
  CloudResult<nlohmann::json> createStaff(const nlohmann::json& body, std::int64_t now);
  // table: accounts, cards, kiosks, staff, meters; status: ACTIVE, BLOCKED, LOST. A card's
  // change is timed (`now`): kiosks list the most recently blocked cards first.
  CloudResult<nlohmann::json> setStatus(const std::string& table, const std::string& id,
                                        const std::string& status, std::int64_t now);
  // What card issuance needs: kind, account, meter, utility and the meter's tariff spec.
  CloudResult<nlohmann::json> cardForIssue(const std::string& cardNumber);
  CloudResult<bool> setCardPublicKey(const std::string& cardNumber, const std::string& publicKeyHex);
  CloudResult<nlohmann::json> listOrders(const std::string& stateFilter,
                                         const std::string& kioskFilter, int limit);
  CloudResult<nlohmann::json> requestRefund(const std::string& orderId, std::int64_t now);
  // period: day or month; by: kiosk or building.
  CloudResult<nlohmann::json> revenue(const std::string& period, const std::string& by);
  CloudResult<nlohmann::json> reconciliation(std::int64_t now);
  CloudResult<nlohmann::json> consumptionWarnings();

  // Notifications of order changes go out on this channel (payload: order id).
  static constexpr const char* kOrderChannel = "kiosk_orders";

 private:
  Database& m_db;
};

nlohmann::json orderToJson(const Order& order);

}  // namespace kiosk::cloud
