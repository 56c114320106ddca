#include "kiosk/flow.hpp"

#include "platform/overloaded.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <type_traits>

namespace kiosk::app {

namespace {

ErrorView errorView(const std::string& kind, bool canRetry) {
  ErrorView view;
  view.titleKey = "error." + kind + ".title";
  view.detailKey = "error." + kind + ".detail";
  view.actionKey = "error." + kind + ".action";
  view.code = kind;
  view.canRetry = canRetry;
  return view;
}

const char* faultKind(CardFault fault) {
  switch (fault) {
    case CardFault::Unreadable: return "card_unreadable";
    case CardFault::Foreign: return "foreign_card";
    case CardFault::NotAuthentic: return "not_authentic";
    case CardFault::Blocked: return "blocked";
    case CardFault::Full: return "card_full";
  }
  return "card_unreadable";
}

int secondsUntil(Millis deadline, Millis now) {
  return static_cast<int>(std::max<Millis>(0, (deadline - now + 999) / 1000));
}

// Validates the entered amount against the limits; sets the problem shown under the keypad.
bool amountAcceptable(AmountView& view) {
  const auto amount = view.amountMinor();
  view.problemKey.reset();
  if (amount < view.minMinor) {
    view.problemKey = "amount.too_low";
  } else if (amount > view.maxMinor) {
    view.problemKey = "amount.too_high";
  }
  return !view.problemKey;
}

// The share of `amount` that pays fees owed first (the account's policy is applied by the
// cloud; the kiosk shows the same rule: fees first, up to what is owed).
void updateSplit(AmountView& view) {
  view.feeShareMinor = std::min(view.feesOwedMinor, view.amountMinor());
}

constexpr std::size_t kMaxPinDigits = 12;

int lockedSeconds(const PinGate& gate, Millis now) {
  return gate.lockedOut(now) ? secondsUntil(gate.lockedUntil(), now) : 0;
}

std::string staffDetail(const screen::StaffSession& staff) {
  return nlohmann::json{{"staff_id", staff.id}, {"via", staff.via}}.dump();
}

class Stepper {
 public:
  Stepper(const FlowState& state, Millis now, const FlowConfig& config)
      : m_next{state, {}}, m_now(now), m_config(config) {}

  Transition result() && { return std::move(m_next); }

  void go(Screen screen) {
    m_next.state.screen = std::move(screen);
    m_next.state.enteredAt = m_now;
    m_next.state.lastInput = m_now;
  }
  void ask(Command command) { m_next.commands.push_back(std::move(command)); }
  // The resident is done here: start over, or first ask for the card still in the reader.
  void leave(std::string receiptUrl = {}) {
    if (m_next.state.cardPresent) {
      go(screen::TakeCard{TakeCardView{std::move(receiptUrl), contact()}});
    } else {
      go(screen::Attract{});
    }
  }
  // The pay screen ends without the cloud's word on the payment: say so, never "not charged".
  void unconfirmed(const screen::Paying& paying) {
    ErrorView view = errorView("unconfirmed", false);
    view.contact = contact();
    view.orderId = paying.view.orderId;
    view.receiptUrl = paying.view.receiptUrl;
    go(screen::Error{std::move(view), false, paying.account, paying.amount});
  }
  // Paid credit for the card in the reader, found while the resident is still here: written now.
  bool writeNow(const std::string& orderId) {
    if (!m_next.state.cardPresent || m_next.state.cardNumber.empty()) return false;
    go(screen::Writing{orderId, m_next.state.cardNumber, WritingView{1, 3}});
    ask(command::WriteToken{orderId, m_next.state.cardNumber});
    return true;
  }
  ServiceContact contact() const {
    return {m_next.state.service.phone, m_next.state.service.hours};
  }
  void fail(const std::string& kind, bool canRetry, const screen::Amount* fromAmount = nullptr) {
    screen::Error error{errorView(kind, canRetry), fromAmount != nullptr, {}, {}};
    error.view.contact = contact();
    if (fromAmount != nullptr) {
      error.account = fromAmount->account;
      error.amount = fromAmount->view;
    }
    go(std::move(error));
  }

  void on(const event::CardInserted&) {
    m_next.state.cardPresent = true;
    std::visit(Overloaded{
                   [&](const screen::Reinsert&) { ask(command::ReadCard{}); },
                   [&](const screen::OutOfService&) {},
                   [&](const screen::Writing&) {},
                   // A staff card put in while the PIN pad is up still opens the dashboard.
                   [&](const screen::Pin&) { ask(command::ReadCard{}); },
                   // Staff change cards for the reader test: the dashboard stays.
                   [&](const screen::Maintenance&) {},
                   [&](const auto&) {
                     go(screen::Reading{});
                     ask(command::ReadCard{});
                   },
               },
               m_next.state.screen);
  }

  void on(const event::CardRemoved&) {
    m_next.state.cardPresent = false;
    m_next.state.cardNumber.clear();
    m_next.state.staffCardSeen.clear();
    std::visit(Overloaded{
                   [&](const screen::Writing& s) {
                     // A pulled card mid-write: ask for the same card back.
                     go(screen::Reinsert{s.orderId,
                                         ReinsertView{s.cardNumber,
                                                      secondsUntil(m_now + m_config.reinsert, m_now),
                                                      false},
                                         m_now + m_config.reinsert});
                   },
                   [&](const screen::Reinsert& s) {
                     screen::Reinsert next = s;
                     next.view.wrongCard = false;
                     m_next.state.screen = next;
                   },
                   [&](const screen::Paying& s) {
                     // The resident left: cancel. A payment that still arrives becomes credit
                     // pending on the account (the cloud's rule), written at the next insertion.
                     if (!s.cancelling) ask(command::CancelOrder{s.view.orderId});
                     go(screen::Attract{});
                   },
                   [&](const screen::OutOfService&) {},
                   [&](const screen::Pin&) {},
                   [&](const screen::Maintenance&) {},
                   [&](const auto&) { go(screen::Attract{}); },
               },
               m_next.state.screen);
  }

  void on(const event::CardRead& e) {
    m_next.state.cardNumber = e.cardNumber;
    const auto& screen = m_next.state.screen;
    if (std::holds_alternative<screen::Reading>(screen) ||
        std::holds_alternative<screen::Pin>(screen)) {
      // A staff card of this kiosk opens the dashboard once per insertion: after Exit, the
      // same card still in the reader is only a card.
      if (e.cardNumber != m_next.state.staffCardSeen) {
        if (auto member = staffForCard(m_next.state.staff, e.cardNumber)) {
          m_next.state.staffCardSeen = e.cardNumber;
          enterDashboard(*member, "card");
          return;
        }
      }
      if (std::holds_alternative<screen::Pin>(screen)) return;
    }
    if (e.staff) {
      if (std::holds_alternative<screen::Reading>(m_next.state.screen)) go(screen::Attract{});
      return;
    }
    std::visit(Overloaded{
                   [&](const screen::Reading&) { ask(command::LookupAccount{e.cardNumber}); },
                   [&](const screen::Reinsert& s) {
                     if (e.cardNumber == s.view.cardNumber) {
                       go(screen::Writing{s.orderId, e.cardNumber, WritingView{1, 3}});
                       ask(command::WriteToken{s.orderId, e.cardNumber});
                     } else {
                       screen::Reinsert next = s;
                       next.view.wrongCard = true;
                       m_next.state.screen = next;
                     }
                   },
                   [&](const auto&) {},
               },
               m_next.state.screen);
  }

  void on(const event::CardFailed& e) {
    if (auto* s = std::get_if<screen::Reinsert>(&m_next.state.screen)) {
      s->view.wrongCard = true;  // not the card being written: keep waiting for it
      return;
    }
    if (std::holds_alternative<screen::Reading>(m_next.state.screen)) {
      fail(faultKind(e.fault), false);
    }
  }

  void on(const event::AccountLoaded& e) {
    if (!std::holds_alternative<screen::Reading>(m_next.state.screen)) return;
    screen::Account account{e.account, e.amount};
    account.account.offline = e.offline;
    updateSplit(account.amount);
    go(std::move(account));
  }

  void on(const event::PendingWrite& e) {
    // Wherever the resident is not in the middle of something (a payment, a write, staff work).
    const auto& screen = m_next.state.screen;
    if (std::holds_alternative<screen::Reading>(screen) ||
        std::holds_alternative<screen::Account>(screen) ||
        std::holds_alternative<screen::Amount>(screen) ||
        std::holds_alternative<screen::Done>(screen) ||
        std::holds_alternative<screen::Error>(screen) ||
        std::holds_alternative<screen::TakeCard>(screen)) {
      writeNow(e.orderId);
    }
  }

  void on(const event::OrderCreated& e) {
    const auto* amount = std::get_if<screen::Amount>(&m_next.state.screen);
    if (amount == nullptr) {
      // The resident left while the order was being created: cancel it.
      ask(command::CancelOrder{e.pay.orderId});
      return;
    }
    go(screen::Paying{amount->account, amount->view, e.pay,
                      m_now + static_cast<Millis>(e.pay.secondsLeft) * 1000, false});
  }

  void on(const event::OrderFailed& e) {
    if (const auto* amount = std::get_if<screen::Amount>(&m_next.state.screen)) {
      const screen::Amount from = *amount;
      fail(e.fault == CloudFault::Network ? "network" : "declined", true, &from);
    }
  }

  void on(const event::OrderPaid& e) {
    if (const auto* paying = std::get_if<screen::Paying>(&m_next.state.screen)) {
      if (paying->view.orderId == e.orderId) writeNow(e.orderId);
      return;
    }
    // The answer came after the pay screen gave up on it, the card still in the reader.
    const auto* error = std::get_if<screen::Error>(&m_next.state.screen);
    if (error != nullptr && error->view.orderId == e.orderId) writeNow(e.orderId);
  }

  void on(const event::OrderDeclined& e) { paymentEnded(e.orderId, "declined"); }
  void on(const event::OrderExpired& e) { paymentEnded(e.orderId, "expired"); }

  void on(const event::OrderCancelled& e) {
    const auto* paying = std::get_if<screen::Paying>(&m_next.state.screen);
    if (paying == nullptr) {
      // Cancelled by the kiosk after the screen gave up on it: nothing was charged, as when
      // the QR code expires.
      paymentEnded(e.orderId, "expired");
      return;
    }
    if (paying->view.orderId != e.orderId) return;
    go(screen::Amount{paying->account, paying->amount});
  }

  void on(const event::OrderRefunded& e) { paymentEnded(e.orderId, "refunded"); }

  void on(const event::OrderContact& e) {
    if (auto* paying = std::get_if<screen::Paying>(&m_next.state.screen)) {
      if (paying->view.orderId == e.orderId) paying->view.reachable = e.reachable;
    }
  }

  void on(const event::OrderUnconfirmed& e) {
    const auto* paying = std::get_if<screen::Paying>(&m_next.state.screen);
    if (paying != nullptr && paying->view.orderId == e.orderId) unconfirmed(*paying);
  }

  void on(const event::WriteProgress& e) {
    if (auto* s = std::get_if<screen::Writing>(&m_next.state.screen)) {
      s->view.step = e.step;
      s->view.steps = e.steps;
    }
  }

  void on(const event::WriteDone& e) {
    if (std::holds_alternative<screen::Writing>(m_next.state.screen)) go(screen::Done{e.done});
  }

  void on(const event::WriteFailed&) {
    const auto& screen = m_next.state.screen;
    if (std::holds_alternative<screen::Writing>(screen) ||
        std::holds_alternative<screen::Reinsert>(screen)) {
      fail("write_failed", false);
    }
  }

  void on(const event::Input& e) {
    m_next.state.lastInput = m_now;
    using Kind = Intent::Kind;
    const Intent& intent = e.intent;
    std::visit(
        Overloaded{
            [&](screen::Account& s) {
              if (intent.kind == Kind::Back) leave();
              // Offline the button is disabled, with its reason on the screen.
              if (intent.kind == Kind::TopUp && s.account.payable()) {
                go(screen::Amount{s.account, s.amount});
              }
            },
            [&](screen::Amount& s) { onAmountInput(s, intent); },
            [&](screen::Paying& s) {
              if (intent.kind == Kind::Cancel && !s.cancelling) {
                s.cancelling = true;
                ask(command::CancelOrder{s.view.orderId});
              }
            },
            [&](screen::Error& s) {
              if (intent.kind == Kind::Retry && s.view.canRetry && s.backToAmount) {
                go(screen::Amount{s.account, s.amount});
              } else if (intent.kind == Kind::Finish || intent.kind == Kind::Retry) {
                leave(s.view.receiptUrl);
              }
            },
            [&](screen::Done& s) {
              if (intent.kind == Kind::Finish) leave(s.view.receiptUrl);
            },
            [&](screen::Attract&) {
              if (intent.kind == Kind::OpenPinPad) {
                go(screen::Pin{PinView{0, lockedSeconds(m_next.state.pinGate, m_now), false}, {}});
                ask(command::Note{"PIN pad opened by the hidden gesture"});
              }
            },
            [&](screen::Pin& s) { onPinInput(s, intent); },
            [&](screen::Maintenance& s) { onDashboardInput(s, intent); },
            [&](auto&) {},
        },
        m_next.state.screen);
  }

  void on(const event::Tick&) {
    const Millis idle = m_now - m_next.state.lastInput;
    const Millis shown = m_now - m_next.state.enteredAt;
    std::visit(Overloaded{
                   [&](screen::Account&) {
                     if (idle >= m_config.inactivity) leave();
                   },
                   [&](screen::Amount&) {
                     if (idle >= m_config.inactivity) leave();
                   },
                   [&](screen::Paying& s) {
                     s.view.secondsLeft = secondsUntil(s.deadline, m_now);
                     // Out of time and out of touch: the outcome is not known, and the screen
                     // says so. While the cloud answers, its word (expired, paid) ends the wait.
                     if (!s.view.reachable && m_now >= s.deadline) unconfirmed(s);
                   },
                   [&](screen::Reinsert& s) {
                     s.view.secondsLeft = secondsUntil(s.deadline, m_now);
                     if (m_now >= s.deadline) fail("write_failed", false);
                   },
                   [&](screen::Done& s) {
                     if (shown >= m_config.resultScreen) leave(s.view.receiptUrl);
                   },
                   [&](screen::Error& s) {
                     if (shown >= m_config.resultScreen) leave(s.view.receiptUrl);
                   },
                   [&](screen::Pin& s) {
                     s.view.lockedSeconds = lockedSeconds(m_next.state.pinGate, m_now);
                   },
                   [&](screen::Maintenance& s) {
                     if (!s.refreshing && m_now - s.refreshedAt >= m_config.dashboardRefresh) {
                       refresh(s);
                     }
                   },
                   [&](auto&) {},
               },
               m_next.state.screen);
  }

  void on(const event::ServiceFault& e) {
    // A transaction in progress is never interrupted; the engine reports the fault again once
    // the kiosk is idle.
    const auto& screen = m_next.state.screen;
    if (std::holds_alternative<screen::Attract>(screen) ||
        std::holds_alternative<screen::OutOfService>(screen)) {
      go(screen::OutOfService{OutOfServiceView{e.reasonKey, contact()}});
    }
  }

  void on(const event::ServiceRestored&) {
    if (std::holds_alternative<screen::OutOfService>(m_next.state.screen)) go(screen::Attract{});
  }

  void on(const event::ConfigLoaded& e) {
    if (!e.kioskId.empty()) m_next.state.kioskId = e.kioskId;
    m_next.state.staff = e.staff;
    m_next.state.service = e.service;
  }

  void on(const event::DashboardLoaded& e) {
    auto* s = std::get_if<screen::Maintenance>(&m_next.state.screen);
    if (s == nullptr) return;
    s->view = e.view;
    s->view.staffName = s->staff.name;
    s->view.readerTesting = s->readerTesting;
    s->view.restarting = s->restarting;
    s->view.readerTest = s->readerTest;
    s->refreshing = false;
    s->refreshedAt = m_now;
    if (s->refreshAgain) refresh(*s);
  }

  void on(const event::ReaderTested& e) {
    auto* s = std::get_if<screen::Maintenance>(&m_next.state.screen);
    // A result belongs to the visit that asked for it: one that comes back after its staff
    // member left is no business of the next.
    if (s == nullptr || e.test == 0 || e.test != s->readerTestAsked) return;
    s->readerTestAsked = 0;
    s->readerTesting = false;
    s->view.readerTesting = false;
    s->readerTest = e.result;
    s->view.readerTest = e.result;  // shown at once, and kept by the next refreshes
    refresh(*s);
  }

  void on(const event::PinChecked& e) {
    auto* s = std::get_if<screen::Pin>(&m_next.state.screen);
    if (s == nullptr || !s->view.checking) return;  // the pad was left meanwhile
    s->view.checking = false;
    pinResult(*s, m_next.state.pinGate.record(
                      e.staffId.empty() ? std::nullopt : std::optional<std::string>(e.staffId), m_now));
  }

  void on(const event::RestartReady&) {
    const auto* s = std::get_if<screen::Maintenance>(&m_next.state.screen);
    if (s != nullptr && s->restarting) m_next.state.restart = true;
  }

 private:
  void enterDashboard(const StaffCredential& member, const char* via) {
    screen::Maintenance dashboard;
    dashboard.staff = {member.id, member.name, via};
    dashboard.view.staffName = member.name;
    ask(command::StaffAction{"maintenance_enter", staffDetail(dashboard.staff)});
    ask(command::Note{member.name + " signed in by " + via});
    refresh(dashboard);
    go(std::move(dashboard));
  }

  // Asks for the dashboard's facts now, or as soon as the request out comes back.
  void refresh(screen::Maintenance& s) {
    if (s.refreshing) {
      s.refreshAgain = true;
      return;
    }
    s.refreshing = true;
    s.refreshAgain = false;
    ask(command::RefreshDashboard{});
  }

  // Back to the resident screens; a card left in the reader is read as if just inserted.
  void leaveMaintenance() {
    if (m_next.state.cardPresent) {
      go(screen::Reading{});
      ask(command::ReadCard{});
    } else {
      go(screen::Attract{});
    }
  }

  void onPinInput(screen::Pin& s, const Intent& intent) {
    using Kind = Intent::Kind;
    switch (intent.kind) {
      case Kind::Digit:
        if (intent.value < 0 || intent.value > 9) return;
        if (s.entered.size() < kMaxPinDigits) s.entered.push_back(static_cast<char>('0' + intent.value));
        s.view.rejected = false;
        break;
      case Kind::Backspace:
        if (!s.entered.empty()) s.entered.pop_back();
        break;
      case Kind::Clear: s.entered.clear(); break;
      case Kind::Back:
      case Kind::ExitMaintenance: leaveMaintenance(); return;
      case Kind::SignIn: signIn(s); return;
      default: return;
    }
    s.view.digits = static_cast<int>(s.entered.size());
  }

  // The PIN goes to a worker (command::CheckPin); the pad waits for event::PinChecked. A
  // locked pad refuses at once, without checking.
  void signIn(screen::Pin& s) {
    if (s.view.checking) return;
    const std::string pin = std::move(s.entered);
    s.entered.clear();
    s.view.digits = 0;
    if (m_next.state.pinGate.lockedOut(m_now)) {
      pinResult(s, m_next.state.pinGate.record(std::nullopt, m_now));
      return;
    }
    s.view.checking = true;
    ask(command::CheckPin{pin, m_next.state.staff});
  }

  void pinResult(screen::Pin& s, const PinGate::Result& result) {
    auto& gate = m_next.state.pinGate;
    if (result.verdict == PinGate::Verdict::Accepted) {
      for (const auto& member : m_next.state.staff) {
        if (member.id == result.staffId) {
          enterDashboard(member, "pin");
          return;
        }
      }
      return;
    }
    s.view.rejected = true;
    s.view.lockedSeconds = lockedSeconds(gate, m_now);
    ask(command::StaffAction{
        "pin_rejected",
        nlohmann::json{{"failures", gate.failures()},
                       {"locked_out", result.verdict == PinGate::Verdict::LockedOut}}
            .dump()});
    ask(command::Note{"staff PIN refused (" + std::to_string(gate.failures()) + " failures)", true});
  }

  void onDashboardInput(screen::Maintenance& s, const Intent& intent) {
    using Kind = Intent::Kind;
    // The last sync before a restart is under way: nothing else starts.
    if (s.restarting) return;
    const std::string detail = staffDetail(s.staff);
    switch (intent.kind) {
      case Kind::SyncNow:
        ask(command::StaffAction{"sync_now", detail});
        ask(command::SyncNow{});
        ask(command::Note{"sync requested"});
        break;
      case Kind::ReaderTest:
        if (s.readerTesting) return;
        s.readerTesting = true;
        s.view.readerTesting = true;
        // The result shown is of the card in the reader now, never of an earlier one.
        s.readerTest.reset();
        s.view.readerTest.reset();
        s.readerTestAsked = ++m_next.state.readerTests;
        ask(command::StaffAction{"reader_test", detail});
        ask(command::TestReader{s.readerTestAsked});
        return;  // the result refreshes the dashboard
      case Kind::Resolve: {
        const auto index = static_cast<std::size_t>(intent.value);
        if (intent.value < 0 || index >= s.view.attention.size()) return;
        auto withOrder = nlohmann::json::parse(detail);
        withOrder["order_id"] = s.view.attention[index].orderId;
        ask(command::StaffAction{"recheck_transaction", withOrder.dump()});
        ask(command::RecheckTransactions{});
        ask(command::Note{"asked the cloud about " + s.view.attention[index].orderId});
        break;
      }
      case Kind::Restart:
        s.restarting = true;
        s.view.restarting = true;
        ask(command::StaffAction{"restart", detail});
        ask(command::PrepareRestart{});
        return;
      case Kind::ExitMaintenance:
      case Kind::Back: {
        const std::string name = s.staff.name;
        ask(command::StaffAction{"maintenance_exit", detail});
        ask(command::Note{name + " left"});
        leaveMaintenance();
        return;
      }
      default: return;
    }
    refresh(s);  // show the action's effect now
  }

  // The cloud's word on how the payment ended: on the pay screen, or on the screen that said
  // it could not be confirmed (the answer came later).
  void paymentEnded(const std::string& orderId, const char* kind) {
    if (const auto* paying = std::get_if<screen::Paying>(&m_next.state.screen)) {
      if (paying->view.orderId != orderId) return;
      const screen::Amount from{paying->account, paying->amount};
      fail(kind, true, &from);
      return;
    }
    const auto* error = std::get_if<screen::Error>(&m_next.state.screen);
    if (error != nullptr && error->view.code == "unconfirmed" && error->view.orderId == orderId) {
      const screen::Amount from{error->account, error->amount};
      fail(kind, true, &from);
    }
  }

  void onAmountInput(screen::Amount& s, const Intent& intent) {
    using Kind = Intent::Kind;
    auto& view = s.view;
    switch (intent.kind) {
      case Kind::Back: go(screen::Account{s.account, s.view}); return;
      case Kind::Digit:
        if (intent.value < 0 || intent.value > 9) return;
        if (view.entered.empty() && intent.value == 0) return;  // no leading zero
        if (static_cast<int>(view.entered.size()) >= m_config.maxDigits) return;
        view.entered.push_back(static_cast<char>('0' + intent.value));
        break;
      case Kind::Backspace:
        if (!view.entered.empty()) view.entered.pop_back();
        break;
      case Kind::Clear: view.entered.clear(); break;
      case Kind::Preset:
        if (intent.value < 0 || static_cast<std::size_t>(intent.value) >= view.presetsMinor.size()) {
          return;
        }
        view.entered =
            std::to_string(view.presetsMinor[static_cast<std::size_t>(intent.value)] / 100);
        break;
      case Kind::ConfirmAmount:
        if (amountAcceptable(view)) {
          ask(command::CreateOrder{m_next.state.cardNumber, view.amountMinor()});
        }
        return;
      default: return;
    }
    view.problemKey.reset();
    updateSplit(view);
  }

  Transition m_next;
  Millis m_now;
  const FlowConfig& m_config;
};

}  // namespace

Transition step(const FlowState& state, const Event& event, Millis now, const FlowConfig& config) {
  Stepper stepper(state, now, config);
  std::visit([&](const auto& e) { stepper.on(e); }, event);
  return std::move(stepper).result();
}

std::string screenName(const Screen& screen) {
  return std::visit(Overloaded{
                        [](const screen::Attract&) -> std::string { return "attract"; },
                        [](const screen::Reading&) -> std::string { return "reading"; },
                        [](const screen::Account&) -> std::string { return "account"; },
                        [](const screen::Amount&) -> std::string { return "amount"; },
                        [](const screen::Paying& s) -> std::string {
                          return s.view.reachable ? "pay" : "pay:offline";
                        },
                        [](const screen::Writing&) -> std::string { return "writing"; },
                        [](const screen::Reinsert&) -> std::string { return "reinsert"; },
                        [](const screen::Done&) -> std::string { return "done"; },
                        [](const screen::Error& s) -> std::string { return "error:" + s.view.code; },
                        [](const screen::TakeCard&) -> std::string { return "take_card"; },
                        [](const screen::OutOfService&) -> std::string { return "out_of_service"; },
                        [](const screen::Pin&) -> std::string { return "pin"; },
                        [](const screen::Maintenance&) -> std::string { return "maintenance"; },
                    },
                    screen);
}

Flow::Flow(FlowConfig config, std::string kioskId) : m_config(config) {
  m_state.kioskId = std::move(kioskId);
  m_state.pinGate = PinGate(m_config.pinGate);
}

std::vector<Command> Flow::handle(const Event& event, Millis now) {
  Transition next = step(m_state, event, now, m_config);
  m_state = std::move(next.state);
  return std::move(next.commands);
}

}  // namespace kiosk::app
