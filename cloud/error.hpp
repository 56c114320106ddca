#pragma once
// The cloud layer's expected failures, as values. Each maps onto one stable API error code
// and one HTTP status in exactly one place (error.cpp), so kiosks can switch on the code.

#include "platform/result.hpp"

#include <string>
#include <string_view>

namespace kiosk::cloud {

enum class CloudError {
  BadRequest,          // a field is missing or has the wrong type
  MalformedJson,       // the body is not JSON
  Unauthorized,        // missing or wrong credentials (admin token, kiosk headers)
  BadSignature,        // the request's HMAC does not verify
  StaleTimestamp,      // the request's clock is more than the allowed skew away
  ReplayedNonce,       // the nonce was already used by this kiosk
  UnknownKiosk,
  KioskDisabled,
  UnknownCard,
  CardBlocked,
  CardLost,
  AmountOutOfLimits,
  BadChallenge,        // the card challenge is not 8 bytes of hex
  NotFound,
  ForeignOrder,        // the order belongs to another kiosk
  InvalidState,        // the order is not in a state that allows the request
  AlreadyDelivered,    // delivery was already confirmed (nothing changed)
  IdempotencyConflict, // same idempotency key, different request
  Conflict,            // a unique value (number, id) already exists
  PaymentFailed,       // the payment provider refused or failed
  CardFormat,          // minting a token or building a script failed
  BadReturnData,       // meter RETURN data that does not parse or verify
  DeliveryUnproven,    // a delivery confirmation without a proof that verifies
  Unavailable,         // the database is unreachable or busy beyond retries
  PayloadTooLarge,     // the body is larger than the service takes
  UriTooLong,          // the request target is longer than the service takes
  Internal,
};

struct Failure {
  CloudError error = CloudError::Internal;
  std::string message;
};

template <class T>
using CloudResult = Result<T, Failure>;

inline Unexpected<Failure> failWith(CloudError error, std::string message) {
  return Unexpected<Failure>{Failure{error, std::move(message)}};
}

// Propagates a failed result out of the calling function.
#define KIOSK_TRY(var, expr)                                   \
  auto var = (expr);                                           \
  if (!var) return Unexpected<Failure> { var.error() }

// "UNKNOWN_CARD": stable, documented in docs/api.md.
std::string_view errorCode(CloudError error);
int httpStatus(CloudError error);
// The error for a status the HTTP layer answers by itself (no route, a body or target too
// long, a request that does not parse, a handler that threw), with its message.
Failure httpLayerFailure(int status);

}  // namespace kiosk::cloud
