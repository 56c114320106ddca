#include "protocol/paths.hpp"

namespace kiosk::protocol {

std::string cardPath(std::string_view cardNumber) {
  return std::string(kCardsPath) + "/" + std::string(cardNumber);
}

std::string orderPath(std::string_view orderId, std::string_view action) {
  std::string path = std::string(kOrdersPath) + "/" + std::string(orderId);
  if (!action.empty()) path.append("/").append(action);
  return path;
}

}  // namespace kiosk::protocol
