#include "payments/api.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace kiosk::payments {

namespace {
constexpr std::array<std::pair<OrderState, std::string_view>, 8> kStates{{
    {OrderState::Created, "CREATED"},
    {OrderState::Paid, "PAID"},
    {OrderState::TokenIssued, "TOKEN_ISSUED"},
    {OrderState::Delivered, "DELIVERED"},
    {OrderState::Expired, "EXPIRED"},
    {OrderState::Canceled, "CANCELED"},
    {OrderState::RefundPending, "REFUND_PENDING"},
    {OrderState::Refunded, "REFUNDED"},
}};
}  // namespace

std::string_view toString(OrderState state) {
  for (const auto& [value, name] : kStates) {
    if (value == state) return name;
  }
  return "CREATED";
}

std::optional<OrderState> orderStateFromString(std::string_view text) {
  for (const auto& [value, name] : kStates) {
    if (name == text) return value;
  }
  return std::nullopt;
}

bool isFinal(OrderState state) {
  return state == OrderState::Delivered || state == OrderState::Expired ||
         state == OrderState::Canceled || state == OrderState::Refunded;
}

bool awaitsDelivery(OrderState state) {
  return state == OrderState::Paid || state == OrderState::TokenIssued;
}

bool KioskConfig::blocked(std::string_view cardNumber) const {
  return std::any_of(blockedCards.begin(), blockedCards.end(),
                     [&](const BlockedCard& card) { return card.number == cardNumber; });
}

const Tariff* KioskConfig::tariff(std::string_view id) const {
  const auto it = std::find_if(tariffs.begin(), tariffs.end(),
                               [&](const Tariff& t) { return t.id == id; });
  return it == tariffs.end() ? nullptr : &*it;
}

}  // namespace kiosk::payments
