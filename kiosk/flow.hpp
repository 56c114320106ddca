#pragma once
// The resident flow: which screen the kiosk shows and what it asks the transaction engine to
// do. A plain state machine with no I/O and no ImGui: screens, tests and scripts drive it alike.
// step() is pure; Flow keeps the current state for callers that want an object.

#include "kiosk/intent.hpp"
#include "kiosk/views.hpp"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace kiosk::app {

using Millis = std::int64_t;  // a monotonic clock in milliseconds, supplied by the caller

struct FlowConfig {
  Millis inactivity = 60'000;   // account and amount screens return to attract
  Millis resultScreen = 20'000; // done and error screens
  Millis reinsert = 90'000;     // how long a torn write waits for its card
  int maxDigits = 5;            // keypad: whole yuan
};

namespace screen {
struct Attract {};
struct Reading {};
struct Account {
  AccountView account;
  AmountView amount;          // limits, presets and tariff for the amount screen
  bool paymentsAvailable = true;  // false when the cloud is unreachable
};
struct Amount {
  AccountView account;
  AmountView view;
};
struct Paying {
  AccountView account;
  AmountView amount;
  PayView view;
  Millis deadline = 0;
  bool cancelling = false;  // cancel sent; a payment may still win the race
};
struct Writing {
  std::string orderId;
  std::string cardNumber;
  WritingView view;
};
struct Reinsert {
  std::string orderId;
  ReinsertView view;
  Millis deadline = 0;
};
struct Done {
  DoneView view;
};
struct Error {
  ErrorView view;
  bool backToAmount = false;  // Retry returns to the amount screen (payment problems)
  AccountView account;
  AmountView amount;
};
struct OutOfService {
  OutOfServiceView view;
};
}  // namespace screen

using Screen = std::variant<screen::Attract, screen::Reading, screen::Account, screen::Amount,
                            screen::Paying, screen::Writing, screen::Reinsert, screen::Done,
                            screen::Error, screen::OutOfService>;

// Why a card could not be used, as the engine reports it.
enum class CardFault { Unreadable, Foreign, NotAuthentic, Blocked, Full };
enum class CloudFault { Network, Rejected };

namespace event {
struct CardInserted {};
struct CardRemoved {};
// Authenticated. A staff card is no resident's: the flow stays idle (maintenance takes over).
struct CardRead { std::string cardNumber; bool staff = false; };
struct CardFailed { CardFault fault; };
// The account, with the amount screen's presets, limits and tariff. `offline`: from the card
// and the last downloaded config only; payments are refused.
struct AccountLoaded { AccountView account; AmountView amount; bool offline = false; };
// Paid credit for this card was waiting: the engine writes it before anything else.
struct PendingWrite { std::string orderId; };
struct OrderCreated { PayView pay; };
struct OrderFailed { CloudFault fault; };
struct OrderPaid { std::string orderId; };
struct OrderDeclined { std::string orderId; };
struct OrderExpired { std::string orderId; };
struct OrderCancelled { std::string orderId; };
struct WriteProgress { int step = 0; int steps = 3; };
struct WriteDone { DoneView done; };
// The engine gave up on the write (not a pulled card: that is CardRemoved); the credit stays
// pending on the account and is written at the next insertion.
struct WriteFailed {};
struct Input { Intent intent; };
struct Tick {};  // time passed; timeouts are checked against `now`
struct ServiceFault { std::string reasonKey; };
struct ServiceRestored {};
}  // namespace event

using Event = std::variant<event::CardInserted, event::CardRemoved, event::CardRead,
                           event::CardFailed, event::AccountLoaded, event::PendingWrite,
                           event::OrderCreated, event::OrderFailed, event::OrderPaid,
                           event::OrderDeclined, event::OrderExpired, event::OrderCancelled,
                           event::WriteProgress, event::WriteDone, event::WriteFailed,
                           event::Input, event::Tick, event::ServiceFault,
                           event::ServiceRestored>;

namespace command {
struct ReadCard {};  // read and authenticate the inserted card
struct LookupAccount { std::string cardNumber; };
struct CreateOrder { std::string cardNumber; std::int64_t amountMinor = 0; };
struct CancelOrder { std::string orderId; };
// Fetch the order's write script for a fresh challenge, write, read back, confirm delivery.
// After a torn write the engine first reads CREDIT and confirms or rewrites.
struct WriteToken { std::string orderId; std::string cardNumber; };
}  // namespace command

using Command = std::variant<command::ReadCard, command::LookupAccount, command::CreateOrder,
                             command::CancelOrder, command::WriteToken>;

struct FlowState {
  Screen screen = screen::Attract{};
  bool cardPresent = false;
  std::string cardNumber;     // of the authenticated card in the reader
  Millis lastInput = 0;       // for the inactivity timeout
  Millis enteredAt = 0;       // when the current screen was entered
};

struct Transition {
  FlowState state;
  std::vector<Command> commands;
};

// The next state and what to ask the engine, for `event` at time `now`.
Transition step(const FlowState& state, const Event& event, Millis now, const FlowConfig& config);

// Name of the screen ("pay", "error:network"), as the screen gallery and logs name it.
std::string screenName(const Screen& screen);

class Flow {
 public:
  explicit Flow(FlowConfig config = {}) : m_config(config) {}
  std::vector<Command> handle(const Event& event, Millis now);
  const FlowState& state() const { return m_state; }

 private:
  FlowConfig m_config;
  FlowState m_state;
};

}  // namespace kiosk::app
