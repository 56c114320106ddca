#include "payments/card_port.hpp"

#include <algorithm>

namespace kiosk::payments {

bool CardFacts::holds(const card::CreditToken& token) const {
  return std::find(credits.begin(), credits.end(), token) != credits.end();
}
}  // namespace kiosk::payments
