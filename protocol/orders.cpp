#include "protocol/orders.hpp"

#include <array>
#include <utility>

namespace kiosk::protocol {
namespace {

constexpr std::array<std::pair<OrderState, std::string_view>, 8> kStates{{
    {OrderState::Created, state::kCreated},
    {OrderState::Paid, state::kPaid},
    {OrderState::TokenIssued, state::kTokenIssued},
    {OrderState::Delivered, state::kDelivered},
    {OrderState::Expired, state::kExpired},
    {OrderState::Canceled, state::kCanceled},
    {OrderState::RefundPending, state::kRefundPending},
    {OrderState::Refunded, state::kRefunded},
}};

}  // namespace

std::string_view toString(OrderState orderState) {
  for (const auto& [value, name] : kStates) {
    if (value == orderState) return name;
  }
  return state::kCreated;
}

std::optional<OrderState> orderStateFromString(std::string_view text) {
  for (const auto& [value, name] : kStates) {
    if (name == text) return value;
  }
  return std::nullopt;
}

bool isFinal(OrderState orderState) {
  return orderState == OrderState::Delivered || orderState == OrderState::Expired ||
         orderState == OrderState::Canceled || orderState == OrderState::Refunded;
}

bool awaitsDelivery(OrderState orderState) {
  return orderState == OrderState::Paid || orderState == OrderState::TokenIssued;
}

bool isFinalState(std::string_view name) {
  const auto known = orderStateFromString(name);
  return known && isFinal(*known);
}

bool isKnownState(std::string_view name) { return orderStateFromString(name).has_value(); }

std::string_view toString(OrderKind orderKind) {
  switch (orderKind) {
    case OrderKind::CardTopup: return kind::kCardTopup;
    case OrderKind::StsToken: return kind::kStsToken;
    case OrderKind::BillPayment: return kind::kBillPayment;
  }
  return kind::kCardTopup;
}

std::optional<OrderKind> orderKindFromString(std::string_view text) {
  for (const auto k : {OrderKind::CardTopup, OrderKind::StsToken, OrderKind::BillPayment}) {
    if (toString(k) == text) return k;
  }
  return std::nullopt;
}

}  // namespace kiosk::protocol
