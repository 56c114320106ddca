#pragma once
// The central billing store: accounts, meters, cards, tariffs, fees, kiosks, staff, orders,
// payments, tokens, journal events and meter readings, over SQLite or PostgreSQL. Every order
// state change is one conditional UPDATE (atomic and monotonic); every write that a client may
// repeat is idempotent. It takes typed requests and returns plain structs (store_types.hpp);
// the routes read and write the JSON. Its methods live by area in store_orders.cpp,
// store_kiosk.cpp, store_operator.cpp and store_reports.cpp.

#include "cloud/card_format.hpp"
#include "cloud/db.hpp"
#include "protocol/orders.hpp"
#include "cloud/store_types.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kiosk::cloud {

// Order states as the kiosk-cloud contract names them.
namespace state = protocol::state;

class Store {
 public:
  explicit Store(Database& db) : m_db(db) {}
  Database& database() { return m_db; }

  // --- kiosk authentication (store_kiosk.cpp)
  CloudResult<KioskAuth> kioskAuth(const std::string& kioskId);
  // true when the nonce is new; false when it was already used (a replay).
  CloudResult<bool> rememberNonce(const std::string& kioskId, const std::string& nonce,
                                  std::int64_t now);
  CloudResult<std::int64_t> purgeNonces(std::int64_t olderThan);

  // --- kiosk API: orders (store_orders.cpp)
  CloudResult<CreatedOrder> createOrder(const CreateOrderRequest& request, std::int64_t now,
                                        const KioskCaller& caller = {});
  CloudResult<Order> order(const std::string& orderId);
  CloudResult<Order> cancelOrder(const std::string& kioskId, const std::string& orderId,
                                 std::int64_t now);
  CloudResult<PaymentResult> recordPayment(const PaymentEvent& event, std::int64_t now);
  // Mints the order's token and its delivery nonce on first call (next sequence of the meter)
  // and returns the same token and nonce on every later or concurrent call. A lost or blocked
  // card (or account) gets none.
  CloudResult<IssuedToken> issueToken(const std::string& orderId, CardFormat& format,
                                      std::int64_t now, const KioskCaller& caller = {});
  // DELIVERED once `format` accepts the proof for the order's token, its nonce and the card's
  // registered key (DeliveryUnproven otherwise, and nothing changes).
  CloudResult<Order> confirmDelivery(const std::string& orderId, std::int64_t sequence,
                                     const DeliveryProof& proof, CardFormat& format,
                                     std::int64_t now, const KioskCaller& caller = {});

  // --- kiosk API: cards, journal, readings, configuration (store_kiosk.cpp)
  CloudResult<CardSummary> cardSummary(const std::string& cardNumber, std::int64_t now);
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
  CloudResult<KioskConfig> kioskConfig(const std::string& kioskId);
  // The kiosk's own time zone (empty: it has none; the service's applies).
  CloudResult<std::string> kioskTimeZone(const std::string& kioskId);

  // --- background work (store_orders.cpp)
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
  // PAID -> REFUND_PENDING at an operator's request, reversing the fees the order settled.
  CloudResult<Order> requestRefund(const std::string& orderId, std::int64_t now);

  // --- operator writes (store_operator.cpp): requests the routes have checked. Each fails
  // with Conflict when the id or number exists, BadRequest when it refers to something that
  // does not exist or when kiosks' configurations have no room for another.
  CloudResult<bool> createTariff(const NewTariff& request, std::int64_t now);
  CloudResult<bool> createAccount(const NewAccount& request, std::int64_t now);
  CloudResult<bool> createMeter(const NewMeter& request, std::int64_t now);
  CloudResult<bool> createCard(const NewCard& request, std::int64_t now);
  CloudResult<bool> createFee(const NewFee& request, std::int64_t now);
  CloudResult<bool> createKiosk(const NewKiosk& request, std::int64_t now);
  CloudResult<bool> createStaff(const NewStaff& request, std::int64_t now);
  // table: accounts, cards, kiosks, staff, meters; status: ACTIVE, BLOCKED, LOST. A card's
  // change is timed (`now`): kiosks list the most recently blocked cards first.
  CloudResult<bool> setStatus(const std::string& table, const std::string& id,
                              const std::string& status, std::int64_t now);
  // Ids stored before the id rule (protocol::isId) that break it, as "table id" pairs: kiosks,
  // accounts, tariffs, staff and fees. `kiosk-cloud migrate` lists them.
  CloudResult<std::vector<std::pair<std::string, std::string>>> idsOutsideRule();
  // Gives a row of kiosks, accounts, tariffs, staff or fees a new id, and every row that refers
  // to it follows, in one transaction. `to` must follow the id rule and be free.
  CloudResult<bool> renameId(const std::string& table, const std::string& from, const std::string& to);
  // What card issuance needs: kind, account, meter, utility and the meter's tariff spec.
  CloudResult<CardIssueInfo> cardForIssue(const std::string& cardNumber);
  CloudResult<bool> setCardPublicKey(const std::string& cardNumber, const std::string& publicKeyHex);
  // Registers the key of a card that has none (the same key again changes nothing); Conflict
  // when the card has another key: a new card key is a new card, issued with `issue-card`.
  CloudResult<bool> registerCardPublicKey(const std::string& cardNumber, const std::string& publicKeyHex);

  // --- reports (store_reports.cpp)
  // Newest first; empty filters match every state or kiosk.
  CloudResult<std::vector<Order>> listOrders(const std::string& stateFilter,
                                             const std::string& kioskFilter, int limit);
  CloudResult<std::vector<RevenueRow>> revenue(RevenuePeriod period, RevenueGroup by);
  CloudResult<Reconciliation> reconciliation(std::int64_t now);
  CloudResult<std::vector<ConsumptionWarning>> consumptionWarnings();

  // Notifications of order changes go out on this channel (payload: order id).
  static constexpr const char* kOrderChannel = "kiosk_orders";

 private:
  Database& m_db;
};

}  // namespace kiosk::cloud
