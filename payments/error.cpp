#include "payments/error.hpp"

#include <curl/curl.h>

namespace kiosk::payments {

namespace {

PayError fromCurl(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return PayError::Offline;
    case CURLE_OPERATION_TIMEDOUT:
      return PayError::Timeout;
    // The request may have reached the cloud: only an idempotent retry tells what happened.
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return PayError::Interrupted;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return PayError::Tls;
    case CURLE_ABORTED_BY_CALLBACK:
      return PayError::Cancelled;
    // The answer was larger than any the API sends, or not HTTP at all.
    case CURLE_WRITE_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_BAD_CONTENT_ENCODING:
      return PayError::BadResponse;
    default:
      return PayError::Offline;
  }
}

PayError fromCloudCode(std::string_view code) {
  if (code == "UNAUTHORIZED" || code == "BAD_SIGNATURE" || code == "UNKNOWN_KIOSK" ||
      code == "REPLAYED_NONCE") {
    return PayError::Unauthorized;
  }
  if (code == "STALE_TIMESTAMP") return PayError::ClockSkew;
  if (code == "KIOSK_DISABLED") return PayError::KioskDisabled;
  if (code == "UNKNOWN_CARD") return PayError::UnknownCard;
  if (code == "CARD_BLOCKED" || code == "CARD_LOST") return PayError::CardBlocked;
  if (code == "AMOUNT_OUT_OF_LIMITS") return PayError::AmountOutOfLimits;
  if (code == "NOT_FOUND") return PayError::NotFound;
  if (code == "FOREIGN_ORDER") return PayError::ForeignOrder;
  if (code == "INVALID_STATE") return PayError::InvalidState;
  if (code == "ALREADY_DELIVERED") return PayError::AlreadyDelivered;
  if (code == "IDEMPOTENCY_CONFLICT" || code == "CONFLICT") return PayError::Conflict;
  if (code == "BAD_REQUEST" || code == "MALFORMED_JSON" || code == "BAD_CHALLENGE" ||
      code == "BAD_RETURN_DATA") {
    return PayError::Rejected;
  }
  if (code == "PAYMENT_FAILED") return PayError::PaymentFailed;
  if (code == "UNAVAILABLE") return PayError::Unavailable;
  if (code == "INTERNAL" || code == "CARD_FORMAT") return PayError::ServerError;
  return PayError::ServerError;  // a code this kiosk does not know yet: treat by status below
}

PayError fromStatus(long status) {
  if (status == 401 || status == 403) return PayError::Unauthorized;
  if (status == 404) return PayError::NotFound;
  if (status == 409) return PayError::Conflict;
  if (status == 422) return PayError::AmountOutOfLimits;
  if (status == 502 || status == 503 || status == 504) return PayError::Unavailable;
  if (status >= 400 && status < 500) return PayError::Rejected;
  if (status >= 500) return PayError::ServerError;
  // 1xx, 3xx other than 304, or a 2xx the caller did not expect: not the API's answer.
  return PayError::BadResponse;
}

bool knownCloudCode(std::string_view code) {
  return !code.empty() && (fromCloudCode(code) != PayError::ServerError || code == "INTERNAL" ||
                           code == "CARD_FORMAT");
}

}  // namespace

PayFailure classify(int curlCode, long httpStatus, std::string_view cloudCode,
                    std::string detail) {
  PayFailure failure;
  failure.detail = std::move(detail);
  failure.httpStatus = httpStatus;
  failure.code = std::string(cloudCode);
  if (curlCode != CURLE_OK) {
    failure.error = fromCurl(static_cast<CURLcode>(curlCode));
    failure.httpStatus = 0;
  } else if (knownCloudCode(cloudCode)) {
    failure.error = fromCloudCode(cloudCode);
  } else {
    failure.error = fromStatus(httpStatus);
  }
  return failure;
}

std::string_view describe(PayError error) {
  switch (error) {
    case PayError::Offline: return "cloud unreachable";
    case PayError::Timeout: return "cloud did not answer in time";
    case PayError::Interrupted: return "connection to the cloud broke mid-request";
    case PayError::Tls: return "cloud's TLS certificate or pinned key did not verify";
    case PayError::Cancelled: return "request cancelled by the kiosk";
    case PayError::BadResponse: return "cloud's answer is not valid";
    case PayError::Unauthorized: return "cloud refused the kiosk's credentials";
    case PayError::ClockSkew: return "kiosk clock is too far from the cloud's";
    case PayError::KioskDisabled: return "kiosk is disabled in the cloud";
    case PayError::UnknownCard: return "card is not known to the cloud";
    case PayError::CardBlocked: return "card is blocked or reported lost";
    case PayError::AmountOutOfLimits: return "amount outside the allowed limits";
    case PayError::NotFound: return "not found";
    case PayError::ForeignOrder: return "order belongs to another kiosk";
    case PayError::InvalidState: return "order is not in a state that allows this";
    case PayError::AlreadyDelivered: return "delivery was already confirmed";
    case PayError::Conflict: return "conflicting request";
    case PayError::Rejected: return "cloud rejected the request";
    case PayError::PaymentFailed: return "payment provider failed";
    case PayError::ServerError: return "cloud internal error";
    case PayError::Unavailable: return "cloud temporarily unavailable";
  }
  return "unknown payments error";
}

std::string describe(const PayFailure& failure) {
  std::string out(describe(failure.error));
  if (failure.httpStatus != 0) out += " (HTTP " + std::to_string(failure.httpStatus) + ")";
  if (!failure.code.empty()) out += " " + failure.code;
  if (!failure.detail.empty()) out += ": " + failure.detail;
  return out;
}

bool isTransient(PayError error) {
  switch (error) {
    case PayError::Offline:
    case PayError::Timeout:
    case PayError::Interrupted:
    case PayError::Unavailable:
    case PayError::ServerError:
      return true;
    default:
      return false;
  }
}

bool isOffline(PayError error) {
  switch (error) {
    case PayError::Offline:
    case PayError::Timeout:
    case PayError::Interrupted:
    case PayError::Tls:
    case PayError::Unavailable:
    case PayError::ServerError:
    case PayError::ClockSkew:
    case PayError::Unauthorized:
    case PayError::KioskDisabled:
      return true;
    default:
      return false;
  }
}

}  // namespace kiosk::payments
