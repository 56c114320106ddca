#include "cloud/error.hpp"

namespace kiosk::cloud {

std::string_view errorCode(CloudError error) {
  switch (error) {
    case CloudError::BadRequest: return "BAD_REQUEST";
    case CloudError::MalformedJson: return "MALFORMED_JSON";
    case CloudError::Unauthorized: return "UNAUTHORIZED";
    case CloudError::BadSignature: return "BAD_SIGNATURE";
    case CloudError::StaleTimestamp: return "STALE_TIMESTAMP";
    case CloudError::ReplayedNonce: return "REPLAYED_NONCE";
    case CloudError::UnknownKiosk: return "UNKNOWN_KIOSK";
    case CloudError::KioskDisabled: return "KIOSK_DISABLED";
    case CloudError::UnknownCard: return "UNKNOWN_CARD";
    case CloudError::CardBlocked: return "CARD_BLOCKED";
    case CloudError::CardLost: return "CARD_LOST";
    case CloudError::AmountOutOfLimits: return "AMOUNT_OUT_OF_LIMITS";
    case CloudError::BadChallenge: return "BAD_CHALLENGE";
    case CloudError::NotFound: return "NOT_FOUND";
    case CloudError::ForeignOrder: return "FOREIGN_ORDER";
    case CloudError::InvalidState: return "INVALID_STATE";
    case CloudError::AlreadyDelivered: return "ALREADY_DELIVERED";
    case CloudError::IdempotencyConflict: return "IDEMPOTENCY_CONFLICT";
    case CloudError::Conflict: return "CONFLICT";
    case CloudError::PaymentFailed: return "PAYMENT_FAILED";
    case CloudError::CardFormat: return "CARD_FORMAT";
    case CloudError::BadReturnData: return "BAD_RETURN_DATA";
    case CloudError::DeliveryUnproven: return "DELIVERY_UNPROVEN";
    case CloudError::Unavailable: return "UNAVAILABLE";
    case CloudError::PayloadTooLarge: return "PAYLOAD_TOO_LARGE";
    case CloudError::UriTooLong: return "URI_TOO_LONG";
    case CloudError::Internal: return "INTERNAL";
  }
  return "INTERNAL";
}

Failure httpLayerFailure(int status) {
  switch (status) {
    case 404: return {CloudError::NotFound, "no such endpoint or method"};
    case 413: return {CloudError::PayloadTooLarge, "request body is too large"};
    case 414: return {CloudError::UriTooLong, "request target is too long"};
    case 503: return {CloudError::Unavailable, "service unavailable, retry later"};
    default: break;
  }
  if (status >= 500) return {CloudError::Internal, "internal error"};
  return {CloudError::BadRequest, "malformed HTTP request"};
}

int httpStatus(CloudError error) {
  switch (error) {
    case CloudError::BadRequest:
    case CloudError::MalformedJson:
    case CloudError::BadChallenge:
    case CloudError::BadReturnData:
      return 400;
    case CloudError::Unauthorized:
    case CloudError::BadSignature:
    case CloudError::StaleTimestamp:
    case CloudError::ReplayedNonce:
    case CloudError::UnknownKiosk:
      return 401;
    case CloudError::KioskDisabled:
    case CloudError::CardBlocked:
    case CloudError::CardLost:
    case CloudError::ForeignOrder:
      return 403;
    case CloudError::UnknownCard:
    case CloudError::NotFound:
      return 404;
    case CloudError::InvalidState:
    case CloudError::AlreadyDelivered:
    case CloudError::IdempotencyConflict:
    case CloudError::Conflict:
      return 409;
    case CloudError::PayloadTooLarge:
      return 413;
    case CloudError::UriTooLong:
      return 414;
    case CloudError::AmountOutOfLimits:
    case CloudError::DeliveryUnproven:
      return 422;
    case CloudError::PaymentFailed:
      return 502;
    case CloudError::CardFormat:
    case CloudError::Internal:
      return 500;
    case CloudError::Unavailable:
      return 503;
  }
  return 500;
}

}  // namespace kiosk::cloud
