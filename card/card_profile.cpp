#include "card/card_profile.hpp"

#include <algorithm>

namespace kiosk::card {

bool CardFacts::holds(const CreditToken& token) const {
  return std::find(credits.begin(), credits.end(), token) != credits.end();
}

}  // namespace kiosk::card
