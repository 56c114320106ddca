#pragma once
// The resident flow: which screen the kiosk shows and what it asks the transaction engine to
// do. A plain state machine with no I/O and no ImGui: screens, tests and scripts drive it alike.
// step() is pure; Flow keeps the current state for callers that want an object.

#include "kiosk/intent.hpp"
#include "kiosk/staff_access.hpp"
#include "kiosk/views.hpp"

#include <cstdint>
#include <optional>
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
  Millis dashboardRefresh = 1'000;  // the maintenance dashboard's facts, at most this often
  PinGateConfig pinGate;        // the staff PIN pad's lockout
};

namespace screen {
struct Attract {};
struct Reading {};
struct Account {
  AccountView account;
  AmountView amount;          // limits, presets and tariff for the amount screen
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
// Done with the card, and it is still in the reader: ask for it, and start over only when it
// is out (a kiosk that says "insert your card" to a card in its reader is not believed).
struct TakeCard {
  TakeCardView view;
};
struct OutOfService {
  OutOfServiceView view;
};
// Maintenance mode: the staff PIN pad, opened by the hidden gesture on the attract screen.
struct Pin {
  PinView view;
  std::string entered;  // the digits typed; only their count is shown
};
// Who is signed in to the dashboard, and how ("pin", "card"): every staff action names them.
struct StaffSession {
  std::string id;
  std::string name;
  std::string via;
};
// The dashboard, after a PIN or a staff card. Its facts come from the runtime's maintenance
// worker (RefreshDashboard -> DashboardLoaded), asked for again while it is shown.
struct Maintenance {
  MaintenanceView view;
  StaffSession staff;
  std::optional<ReaderTestView> readerTest;  // the last result of this visit's reader tests
  std::uint64_t readerTestAsked = 0;  // the number of this visit's test under way; 0: none
  Millis refreshedAt = 0;
  bool refreshing = false;    // a RefreshDashboard is out
  bool refreshAgain = false;  // an action happened while it was out: ask again when it is back
  bool readerTesting = false;
  bool restarting = false;    // Restart pressed: waiting for the last sync
};
}  // namespace screen

using Screen = std::variant<screen::Attract, screen::Reading, screen::Account, screen::Amount,
                            screen::Paying, screen::Writing, screen::Reinsert, screen::Done,
                            screen::Error, screen::TakeCard, screen::OutOfService, screen::Pin,
                            screen::Maintenance>;

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
// The cloud took the payment and gave it back (a card blocked meanwhile, say).
struct OrderRefunded { std::string orderId; };
// The engine lost (reachable = false) or regained contact with the cloud while waiting for
// the payment: until it hears again, it does not know whether the resident paid.
struct OrderContact { std::string orderId; bool reachable = true; };
// The engine stopped waiting without the cloud's word on the payment. It keeps asking in the
// background; a payment found later arrives as PendingWrite (or OrderPaid).
struct OrderUnconfirmed { std::string orderId; };
struct WriteProgress { int step = 0; int steps = 3; };
struct WriteDone { DoneView done; };
// The engine gave up on the write (not a pulled card: that is CardRemoved); the credit stays
// pending on the account and is written at the next insertion.
struct WriteFailed {};
struct Input { Intent intent; };
struct Tick {};  // time passed; timeouts are checked against `now`
struct ServiceFault { std::string reasonKey; };
struct ServiceRestored {};
// The engine uses a kiosk config (the cloud's, or the copy kept for offline use): the kiosk id
// on the attract screen and the staff who may enter maintenance.
// The service contact and the zone times are shown in, from the same config (empty: none).
struct ServiceSettings {
  std::string phone;
  std::string hours;
  std::string timeZone;
};
struct ConfigLoaded {
  std::string kioskId;
  std::vector<StaffCredential> staff;
  ServiceSettings service;
};
// The dashboard's facts as the maintenance worker gathered them (health, outbox, attention,
// recent log lines, last sync, config version); the flow adds who is signed in.
struct DashboardLoaded { MaintenanceView view; };
// The card's files, or why it was not read, for the reader test numbered `test`.
struct ReaderTested { ReaderTestView result; std::uint64_t test = 0; };
// The PIN typed on the pad was checked (command::CheckPin): whose it is, or empty.
struct PinChecked { std::string staffId; };
// The restart's last sync is over (or timed out): the application may start again.
struct RestartReady {};
}  // namespace event

using Event = std::variant<event::CardInserted, event::CardRemoved, event::CardRead,
                           event::CardFailed, event::AccountLoaded, event::PendingWrite,
                           event::OrderCreated, event::OrderFailed, event::OrderPaid,
                           event::OrderDeclined, event::OrderExpired, event::OrderCancelled,
                           event::OrderRefunded, event::OrderContact, event::OrderUnconfirmed,
                           event::WriteProgress, event::WriteDone, event::WriteFailed,
                           event::Input, event::Tick, event::ServiceFault,
                           event::ServiceRestored, event::ConfigLoaded, event::DashboardLoaded,
                           event::ReaderTested, event::PinChecked, event::RestartReady>;

namespace command {
struct ReadCard {};  // read and authenticate the inserted card
struct LookupAccount { std::string cardNumber; };
struct CreateOrder { std::string cardNumber; std::int64_t amountMinor = 0; };
struct CancelOrder { std::string orderId; };
// Fetch the order's write script for a fresh challenge, write, read back, confirm delivery.
// After a torn write the engine first reads CREDIT and confirms or rewrites.
struct WriteToken { std::string orderId; std::string cardNumber; };
// Maintenance. Each runs on the runtime's maintenance worker, in the order given.
// A staff action for the journal (and so the cloud): "maintenance_enter", "sync_now", ...
struct StaffAction { std::string action; std::string detailJson; };
// A line for the kiosk's log (which the dashboard shows), prefixed "maintenance: ".
struct Note { std::string line; bool warning = false; };
struct RefreshDashboard {};
// Check a PIN against the staff's PBKDF2 hashes (tens of milliseconds each, so never in a
// frame); answered by event::PinChecked.
struct CheckPin { std::string pin; std::vector<StaffCredential> staff; };
// Read and authenticate whatever card is in the reader; answered by event::ReaderTested with
// the same number.
struct TestReader { std::uint64_t test = 0; };
struct SyncNow {};
struct RecheckTransactions {};  // ask the cloud now about every unfinished transaction
// Give the journaled restart a few seconds to reach the cloud, then answer RestartReady.
struct PrepareRestart {};
}  // namespace command

using Command = std::variant<command::ReadCard, command::LookupAccount, command::CreateOrder,
                             command::CancelOrder, command::WriteToken, command::StaffAction,
                             command::Note, command::RefreshDashboard, command::TestReader,
                             command::SyncNow, command::RecheckTransactions,
                             command::PrepareRestart, command::CheckPin>;

struct FlowState {
  Screen screen = screen::Attract{};
  bool cardPresent = false;
  std::string cardNumber;     // of the authenticated card in the reader
  Millis lastInput = 0;       // for the inactivity timeout
  Millis enteredAt = 0;       // when the current screen was entered
  std::string kioskId;        // shown on the attract screen; the config's once one is loaded
  std::vector<StaffCredential> staff;  // from the kiosk config; empty until one is loaded
  event::ServiceSettings service;      // likewise
  PinGate pinGate;            // failures and lockout, across PIN pad visits
  std::string staffCardSeen;  // the staff card that opened the dashboard, until it is pulled
  std::uint64_t readerTests = 0;  // reader tests asked for: each result names its test
  bool restart = false;       // maintenance asked for the application to start again
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
  explicit Flow(FlowConfig config = {}, std::string kioskId = {});
  std::vector<Command> handle(const Event& event, Millis now);
  const FlowState& state() const { return m_state; }

 private:
  FlowConfig m_config;
  FlowState m_state;
};

}  // namespace kiosk::app
