#pragma once
// What the engine reports, in its own terms: the kiosk turns these into the flow's events.
// Delivered on the engine's worker threads through the sink given at construction.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "card/profile.hpp"
#include "payments/responses.hpp"

namespace kiosk::payments {

enum class CardProblem { Unreadable, Foreign, NotAuthentic, Blocked, Full };

// The account as the kiosk shows it: the card's own data (balance as the meter last wrote it)
// joined with the cloud's (when online) and the last downloaded config.
struct AccountInfo {
  std::string cardNumber;
  std::string meterNumber;
  card::Utility utility = card::Utility::Electricity;
  std::string holder;    // masked by the cloud
  std::string building;
  std::string room;
  std::int64_t balance = 0;      // minor units, from the card's RETURN file
  std::int64_t balanceTime = 0;  // when the meter wrote it; 0: never
  int alarmLevel = 0;            // 0 none .. 3
  bool cutOff = false;
  std::vector<CardSummary::Recent> recent;
  std::vector<FeeOwed> fees;
  std::int64_t feesTotal = 0;
  std::string feePolicy;
  int pendingCredits = 0;
  std::size_t freeRecords = 0;  // CREDIT records free for another token (0: the card is full)
  std::int64_t minAmount = 0;  // 0 when no config was ever downloaded
  std::int64_t maxAmount = 0;
  std::int64_t pricePerUnit = 0;
  std::vector<std::int64_t> presets;
};

namespace notice {
// `staff`: an authentic staff card (maintenance), not a resident's.
struct CardRead { std::string cardNumber; bool staff = false; };
struct CardRefused { CardProblem problem; std::string detail; };
struct AccountReady { AccountInfo account; bool offline = false; };
// Paid credit waits for this card: the kiosk writes it before anything else.
struct PendingCredit { std::string orderId; };
struct OrderOpened {
  std::string orderId;
  std::string qrUrl;
  std::int64_t amount = 0;
  std::int64_t credit = 0;
  std::int64_t fees = 0;
  int secondsLeft = 0;
  std::string receiptUrl;  // the order's page at the cloud (empty: the config names none)
};
struct OrderRefused { bool network = false; std::string detail; };
struct OrderPaid { std::string orderId; };
struct OrderDeclined { std::string orderId; };
struct OrderExpired { std::string orderId; };
struct OrderCancelled { std::string orderId; };
// Paid, then given back by the cloud (a refund): the resident's money is on its way back.
struct OrderRefunded { std::string orderId; };
// While waiting for the payment the cloud stopped answering (reachable = false), or answers
// again: until it does, nobody at the kiosk knows whether the resident paid.
struct OrderContact { std::string orderId; bool reachable = true; };
// The wait for the payment ended without the cloud's word on it. The journal keeps the order
// open and the sync loop keeps asking; a payment found then is PendingCredit for the card.
struct OrderUnconfirmed { std::string orderId; };
struct WriteStep { int step = 0; int steps = 3; };
struct Delivery {
  std::string orderId;
  std::int64_t credit = 0;
  std::int64_t fees = 0;
  std::uint32_t sequence = 0;  // the token's; 0 when only fees were paid
  std::string receiptUrl;      // the cloud's receipt page for the order (empty: none)
};
struct WriteDone {
  card::Utility utility = card::Utility::Electricity;
  std::string cardNumber;
  std::string meterNumber;
  std::vector<Delivery> deliveries;
  std::int64_t at = 0;
};
struct WriteFailed { std::string detail; };
struct ServiceFault { std::string reasonKey; };  // "oos.disk"
struct ServiceRestored {};
}  // namespace notice

using Notice = std::variant<notice::CardRead, notice::CardRefused, notice::AccountReady,
                            notice::PendingCredit, notice::OrderOpened, notice::OrderRefused,
                            notice::OrderPaid, notice::OrderDeclined, notice::OrderExpired,
                            notice::OrderCancelled, notice::OrderRefunded, notice::OrderContact,
                            notice::OrderUnconfirmed, notice::WriteStep, notice::WriteDone,
                            notice::WriteFailed, notice::ServiceFault, notice::ServiceRestored>;

// "not_authentic": the problem's name in the journal's events and in logs.
const char* problemName(CardProblem problem);

// "order paid ord_..." for logs and the headless driver's trace.
std::string describe(const Notice& notice);

}  // namespace kiosk::payments
