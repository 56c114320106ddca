#include "payments/notice.hpp"

namespace kiosk::payments {

const char* problemName(CardProblem problem) {
  switch (problem) {
    case CardProblem::Unreadable: return "unreadable";
    case CardProblem::Foreign: return "foreign";
    case CardProblem::NotAuthentic: return "not_authentic";
    case CardProblem::Blocked: return "blocked";
    case CardProblem::Full: return "full";
  }
  return "unreadable";
}

std::string describe(const Notice& notice) {
  struct Describe {
    std::string operator()(const notice::CardRead& n) const { return "card read " + n.cardNumber; }
    std::string operator()(const notice::CardRefused& n) const {
      return std::string("card refused: ") + problemName(n.problem) + " (" + n.detail + ")";
    }
    std::string operator()(const notice::AccountReady& n) const {
      return "account " + n.account.cardNumber + (n.offline ? " (offline)" : "");
    }
    std::string operator()(const notice::PendingCredit& n) const { return "pending credit " + n.orderId; }
    std::string operator()(const notice::OrderOpened& n) const { return "order opened " + n.orderId; }
    std::string operator()(const notice::OrderRefused& n) const {
      return std::string("order refused") + (n.network ? " (network)" : "") + ": " + n.detail;
    }
    std::string operator()(const notice::OrderPaid& n) const { return "order paid " + n.orderId; }
    std::string operator()(const notice::OrderDeclined& n) const { return "order declined " + n.orderId; }
    std::string operator()(const notice::OrderExpired& n) const { return "order expired " + n.orderId; }
    std::string operator()(const notice::OrderCancelled& n) const { return "order cancelled " + n.orderId; }
    std::string operator()(const notice::OrderRefunded& n) const { return "order refunded " + n.orderId; }
    std::string operator()(const notice::OrderContact& n) const {
      return std::string(n.reachable ? "cloud answers again about " : "cloud unreachable about ") + n.orderId;
    }
    std::string operator()(const notice::OrderUnconfirmed& n) const { return "order unconfirmed " + n.orderId; }
    std::string operator()(const notice::WriteStep& n) const {
      return "write step " + std::to_string(n.step) + "/" + std::to_string(n.steps);
    }
    std::string operator()(const notice::WriteDone& n) const {
      std::string out = "write done:";
      for (const auto& d : n.deliveries) out += " " + d.orderId + "#" + std::to_string(d.sequence);
      return out;
    }
    std::string operator()(const notice::WriteFailed& n) const { return "write failed: " + n.detail; }
    std::string operator()(const notice::ServiceFault& n) const { return "service fault " + n.reasonKey; }
    std::string operator()(const notice::ServiceRestored&) const { return "service restored"; }
  };
  return std::visit(Describe{}, notice);
}
}  // namespace kiosk::payments
