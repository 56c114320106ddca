#include "card/error.hpp"

namespace kiosk::card {

std::string_view describe(CardError error) {
  switch (error) {
    case CardError::NoService: return "PC/SC service (pcscd) not available";
    case CardError::NoReader: return "no card reader connected";
    case CardError::NoCard: return "no card in the reader";
    case CardError::Removed: return "card removed during exchange";
    case CardError::Reset: return "card was reset";
    case CardError::Unresponsive: return "card does not respond";
    case CardError::Sharing: return "card in use by another application";
    case CardError::Timeout: return "card reader timed out";
    case CardError::Cancelled: return "operation cancelled";
    case CardError::Transport: return "card reader failure";
    case CardError::Protocol: return "malformed card response";
    case CardError::ForeignCard: return "not a card of this utility";
    case CardError::NotAuthentic: return "card failed authentication";
    case CardError::AccessDenied: return "card refused the write (security)";
    case CardError::BadData: return "card data invalid";
    case CardError::Full: return "card credit store full";
    case CardError::StatusWord: return "card returned an error status";
  }
  return "unknown card error";
}

}  // namespace kiosk::card
