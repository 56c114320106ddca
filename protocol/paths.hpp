#pragma once
// The kiosk API's paths (docs/api.md): the kiosk builds its request targets from them and
// kiosk-cloud its routes, so the two cannot name a resource differently.

#include <string>
#include <string_view>

namespace kiosk::protocol {

inline constexpr const char* kCardsPath = "/v1/kiosk/cards";        // + "/" + card number
inline constexpr const char* kOrdersPath = "/v1/kiosk/orders";      // + "/" + order id [+ action]
inline constexpr const char* kJournalPath = "/v1/kiosk/journal";
inline constexpr const char* kReadingsPath = "/v1/kiosk/readings";
inline constexpr const char* kConfigPath = "/v1/kiosk/config";

// What can be done to an order: POST kOrdersPath/<id>/<action>.
inline constexpr const char* kCancelAction = "cancel";
inline constexpr const char* kScriptAction = "script";
inline constexpr const char* kDeliveredAction = "delivered";

// "/v1/kiosk/cards/<number>"
std::string cardPath(std::string_view cardNumber);
// "/v1/kiosk/orders/<id>", or "/v1/kiosk/orders/<id>/<action>"
std::string orderPath(std::string_view orderId, std::string_view action = {});

}  // namespace kiosk::protocol
