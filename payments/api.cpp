#include "payments/api.hpp"

#include <algorithm>

namespace kiosk::payments {

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
