#include "kiosk/engine_bridge.hpp"

#include "platform/overloaded.hpp"
#include "platform/time_format.hpp"
#include "protocol/masking.hpp"

#include <fmt/format.h>

#include <ctime>

namespace kiosk::app {

namespace {

Utility utilityOf(card::Utility utility) {
  return utility == card::Utility::Water ? Utility::Water : Utility::Electricity;
}

CardFault faultOf(payments::CardProblem problem) {
  switch (problem) {
    case payments::CardProblem::Unreadable: return CardFault::Unreadable;
    case payments::CardProblem::Foreign: return CardFault::Foreign;
    case payments::CardProblem::NotAuthentic: return CardFault::NotAuthentic;
    case payments::CardProblem::Blocked: return CardFault::Blocked;
    case payments::CardProblem::Full: return CardFault::Full;
  }
  return CardFault::Unreadable;
}

AlarmLevel alarmOf(const payments::AccountInfo& account) {
  if (account.cutOff) return AlarmLevel::CutOff;
  switch (account.alarmLevel) {
    case 1: return AlarmLevel::Low;
    case 2: return AlarmLevel::VeryLow;
    case 3: return AlarmLevel::Critical;
    default: return AlarmLevel::None;
  }
}

}  // namespace

AccountView accountView(const payments::AccountInfo& account) {
  AccountView view;
  view.utility = utilityOf(account.utility);
  view.cardNumber = account.cardNumber;
  view.meterNumber = account.meterNumber;
  view.holderMasked = account.holder;
  if (!account.building.empty()) view.addressMasked = account.building + " *** " ;
  view.balanceMinor = account.balance;
  view.balanceTime = account.balanceTime;
  view.alarm = alarmOf(account);
  for (const auto& recent : account.recent) view.recent.push_back({recent.at, recent.amount});
  for (const auto& fee : account.fees) {
    if (fee.owed > 0) view.fees.push_back({fee.item, fee.owed});
  }
  view.pendingTokens = account.pendingCredits;
  view.cardFull = account.freeRecords == 0;
  return view;
}

AmountView amountView(const payments::AccountInfo& account) {
  AmountView view;
  view.utility = utilityOf(account.utility);
  view.presetsMinor = account.presets;
  view.minMinor = account.minAmount;
  view.maxMinor = account.maxAmount;
  // The kiosk shows the fees-first rule; the cloud's order carries the exact split.
  view.feesOwedMinor = account.feePolicy == "FEES_FIRST" ? account.feesTotal : 0;
  view.priceMinorPerUnit = account.pricePerUnit;
  return view;
}

DoneView doneView(const payments::notice::WriteDone& done) {
  DoneView view;
  view.utility = utilityOf(done.utility);
  view.cardNumber = done.cardNumber;
  view.meterNumber = done.meterNumber;
  view.at = done.at;
  for (const auto& delivery : done.deliveries) {
    view.creditMinor += delivery.credit;
    if (view.receiptUrl.empty()) view.receiptUrl = delivery.receiptUrl;
    view.feesPaidMinor += delivery.fees;
    view.items.push_back({delivery.orderId, delivery.sequence, delivery.credit, delivery.fees});
  }
  return view;
}

Event toEvent(const payments::Notice& notice) {
  namespace n = payments::notice;
  return std::visit(
      Overloaded{
          [](const n::CardRead& e) -> Event { return event::CardRead{e.cardNumber, e.staff}; },
          [](const n::CardRefused& e) -> Event { return event::CardFailed{faultOf(e.problem)}; },
          [](const n::AccountReady& e) -> Event {
            return event::AccountLoaded{accountView(e.account), amountView(e.account), e.offline};
          },
          [](const n::PendingCredit& e) -> Event { return event::PendingWrite{e.orderId}; },
          [](const n::OrderOpened& e) -> Event {
            PayView pay;
            pay.payUrl = e.qrUrl;
            pay.orderId = e.orderId;
            pay.amountMinor = e.amount;
            pay.creditMinor = e.credit;
            pay.feesMinor = e.fees;
            pay.secondsLeft = e.secondsLeft;
            pay.receiptUrl = e.receiptUrl;
            return event::OrderCreated{pay};
          },
          [](const n::OrderRefused& e) -> Event {
            return event::OrderFailed{e.network ? CloudFault::Network : CloudFault::Rejected};
          },
          [](const n::OrderPaid& e) -> Event { return event::OrderPaid{e.orderId}; },
          [](const n::OrderDeclined& e) -> Event { return event::OrderDeclined{e.orderId}; },
          [](const n::OrderExpired& e) -> Event { return event::OrderExpired{e.orderId}; },
          [](const n::OrderCancelled& e) -> Event { return event::OrderCancelled{e.orderId}; },
          [](const n::OrderRefunded& e) -> Event { return event::OrderRefunded{e.orderId}; },
          [](const n::OrderContact& e) -> Event { return event::OrderContact{e.orderId, e.reachable}; },
          [](const n::OrderUnconfirmed& e) -> Event { return event::OrderUnconfirmed{e.orderId}; },
          [](const n::WriteStep& e) -> Event { return event::WriteProgress{e.step, e.steps}; },
          [](const n::WriteDone& e) -> Event { return event::WriteDone{doneView(e)}; },
          [](const n::WriteFailed&) -> Event { return event::WriteFailed{}; },
          [](const n::ServiceFault& e) -> Event { return event::ServiceFault{e.reasonKey}; },
          [](const n::ServiceRestored&) -> Event { return event::ServiceRestored{}; },
      },
      notice);
}

payments::Engine::Sink EngineBridge::sinkInto(EventQueue& queue) {
  return [&queue](const payments::Notice& notice) { queue.push(toEvent(notice)); };
}

void EngineBridge::execute(const Command& command) {
  std::visit(Overloaded{
                 [&](const command::ReadCard&) { m_engine.readCard(); },
                 [&](const command::LookupAccount& c) { m_engine.lookupAccount(c.cardNumber); },
                 [&](const command::CreateOrder& c) { m_engine.createOrder(c.cardNumber, c.amountMinor); },
                 [&](const command::CancelOrder& c) { m_engine.cancelOrder(c.orderId); },
                 [&](const command::WriteToken& c) { m_engine.writeToken(c.orderId, c.cardNumber); },
                 // Maintenance work is the maintenance worker's.
                 [](const auto&) {},
             },
             command);
}

void EngineBridge::execute(const std::vector<Command>& commands) {
  for (const auto& command : commands) execute(command);
}

}  // namespace kiosk::app
