#pragma once
// Orders as the kiosk-cloud API names them: states and origins, one spelling for both sides.
//   CREATED -> PAID -> TOKEN_ISSUED -> DELIVERED
//   CREATED -> EXPIRED | CANCELED
//   PAID -> REFUND_PENDING -> REFUNDED
// Final states: DELIVERED, EXPIRED, CANCELED, REFUNDED.

#include <optional>
#include <string_view>

namespace kiosk::protocol {

namespace state {
inline constexpr const char* kCreated = "CREATED";
inline constexpr const char* kPaid = "PAID";
inline constexpr const char* kTokenIssued = "TOKEN_ISSUED";
inline constexpr const char* kDelivered = "DELIVERED";
inline constexpr const char* kExpired = "EXPIRED";
inline constexpr const char* kCanceled = "CANCELED";
inline constexpr const char* kRefundPending = "REFUND_PENDING";
inline constexpr const char* kRefunded = "REFUNDED";
}  // namespace state

enum class OrderState { Created, Paid, TokenIssued, Delivered, Expired, Canceled, RefundPending, Refunded };
std::string_view toString(OrderState orderState);
std::optional<OrderState> orderStateFromString(std::string_view text);
bool isFinal(OrderState orderState);
// Paid credit that still has to reach the card.
bool awaitsDelivery(OrderState orderState);

// The same questions of a state's name; an unknown name is neither.
bool isFinalState(std::string_view name);
bool isKnownState(std::string_view name);

// What an order buys. CARD_TOPUP: a token written to the resident's card (DELIVERED only with
// the card's proof). STS_TOKEN: a keypad token for a meter without our card (DELIVERED when
// issued and shown). BILL_PAYMENT: a post-paid bill (no token). Every order the cloud makes
// today is a CARD_TOPUP; a kiosk writes tokens to cards for CARD_TOPUP orders only.
namespace kind {
inline constexpr const char* kCardTopup = "CARD_TOPUP";
inline constexpr const char* kStsToken = "STS_TOKEN";
inline constexpr const char* kBillPayment = "BILL_PAYMENT";
}  // namespace kind

enum class OrderKind { CardTopup, StsToken, BillPayment };
std::string_view toString(OrderKind orderKind);
std::optional<OrderKind> orderKindFromString(std::string_view text);

// Where an order's money came from.
namespace origin {
inline constexpr const char* kKiosk = "KIOSK";                  // a resident at a kiosk
inline constexpr const char* kLatePayment = "LATE_PAYMENT";     // paid after cancel or expiry
inline constexpr const char* kDoublePayment = "DOUBLE_PAYMENT"; // paid twice: to be refunded
}  // namespace origin

}  // namespace kiosk::protocol
