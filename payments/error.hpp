#pragma once
// The payments layer's expected failures, as values. Every libcurl result, HTTP status and
// cloud error code becomes one PayError in exactly one function, classify().

#include <string>
#include <string_view>

namespace kiosk::payments {

enum class PayError {
  // Reaching the cloud
  Offline,       // no connection: DNS, refused, unreachable
  Timeout,       // connect or total timeout
  Interrupted,   // the connection broke after the request left: its outcome is unknown
  Tls,           // the certificate or the pinned public key did not verify
  Cancelled,     // the kiosk aborted the call itself (shutdown, long poll given up)
  // What came back
  BadResponse,   // not what the API promises: malformed JSON, wrong type, missing field,
                 // value out of range, a token or script that does not fit the card
  // The cloud's answer (its stable error codes)
  Unauthorized,  // UNAUTHORIZED, BAD_SIGNATURE, UNKNOWN_KIOSK, REPLAYED_NONCE
  ClockSkew,     // STALE_TIMESTAMP: the kiosk's clock is off
  KioskDisabled,
  UnknownCard,
  CardBlocked,   // CARD_BLOCKED, CARD_LOST
  AmountOutOfLimits,
  NotFound,
  ForeignOrder,
  InvalidState,
  AlreadyDelivered,
  Conflict,      // IDEMPOTENCY_CONFLICT, CONFLICT
  Rejected,      // BAD_REQUEST, MALFORMED_JSON, BAD_CHALLENGE, BAD_RETURN_DATA, other 4xx
  PaymentFailed,
  ServerError,   // INTERNAL, CARD_FORMAT, other 5xx
  Unavailable,   // UNAVAILABLE, 502/503/504
};

struct PayFailure {
  PayError error = PayError::ServerError;
  std::string detail;    // curl's or the cloud's message, for logs
  long httpStatus = 0;   // 0 when no answer came
  std::string code;      // the cloud's error code when it sent one
};

// The one mapping: a libcurl result code (CURLcode as int), the HTTP status when the exchange
// completed, and the cloud's error code from the body ({"error":{"code":..}}) when present.
// Called only for failures: curlCode != CURLE_OK, or a status outside 2xx and 304.
PayFailure classify(int curlCode, long httpStatus, std::string_view cloudCode,
                    std::string detail);

// A short English description for logs ("cloud unreachable").
std::string_view describe(PayError error);
std::string describe(const PayFailure& failure);

// Worth repeating the same request: the network or the cloud may be back in a moment.
bool isTransient(PayError error);
// The cloud cannot serve this kiosk right now (unreachable, failing, or refusing the kiosk's
// credentials or clock): card reading goes on offline and payments are refused.
bool isOffline(PayError error);

}  // namespace kiosk::payments
