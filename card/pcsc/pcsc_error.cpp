#include "card/pcsc/pcsc_error.hpp"

#include <winscard.h>

#include <type_traits>

#include "spdlog/spdlog.h"

namespace kiosk::card {

static_assert(std::is_same_v<LONG, long>, "pcsc-lite's LONG is long on this platform");

namespace {

CardError classify(LONG rv) {
  switch (rv) {
    // The service is gone, or the handles belong to a service that restarted: the cure is to
    // establish a new context, with backoff.
    case SCARD_E_NO_SERVICE:
    case SCARD_E_SERVICE_STOPPED:
    case SCARD_F_COMM_ERROR:
    case SCARD_E_INVALID_HANDLE:
    case SCARD_P_SHUTDOWN:
      return CardError::NoService;
    case SCARD_E_NO_READERS_AVAILABLE:
    case SCARD_E_UNKNOWN_READER:
    case SCARD_E_READER_UNAVAILABLE:
    case SCARD_E_READER_UNSUPPORTED:
    case SCARD_E_DUPLICATE_READER:
      return CardError::NoReader;
    case SCARD_E_NO_SMARTCARD:
      return CardError::NoCard;
    case SCARD_W_REMOVED_CARD:
      return CardError::Removed;
    case SCARD_W_RESET_CARD:
      return CardError::Reset;
    case SCARD_W_UNRESPONSIVE_CARD:
    case SCARD_W_UNPOWERED_CARD:
    case SCARD_W_UNSUPPORTED_CARD:
    case SCARD_E_INVALID_ATR:
    case SCARD_E_PROTO_MISMATCH:
    case SCARD_E_CARD_UNSUPPORTED:
    case SCARD_E_UNKNOWN_CARD:
      return CardError::Unresponsive;
    case SCARD_E_SHARING_VIOLATION:
      return CardError::Sharing;
    case SCARD_E_TIMEOUT:
    case SCARD_F_WAITED_TOO_LONG:
      return CardError::Timeout;
    case SCARD_E_CANCELLED:
    case SCARD_E_SYSTEM_CANCELLED:
    case SCARD_W_CANCELLED_BY_USER:
      return CardError::Cancelled;
    case SCARD_E_INSUFFICIENT_BUFFER:
    case SCARD_E_PCI_TOO_SMALL:
    case SCARD_E_COMM_DATA_LOST:
      return CardError::Protocol;
    case SCARD_W_SECURITY_VIOLATION:
    case SCARD_W_WRONG_CHV:
    case SCARD_W_CHV_BLOCKED:
    case SCARD_W_CARD_NOT_AUTHENTICATED:
    case SCARD_E_NO_ACCESS:
      return CardError::AccessDenied;
    default:
      // SCARD_F_INTERNAL_ERROR, SCARD_E_INVALID_PARAMETER, SCARD_E_NO_MEMORY,
      // SCARD_E_NOT_TRANSACTED, SCARD_E_UNEXPECTED and the rest: a reader or driver failure
      // the kiosk cannot act on beyond reporting it.
      return CardError::Transport;
  }
}

}  // namespace

CardError fromPcsc(long rv, std::string_view where) {
  const CardError error = classify(rv);
  spdlog::debug("pcsc: {} returned {} (0x{:08X}): {}", where, pcsc_stringify_error(rv),
                static_cast<unsigned long>(rv) & 0xFFFFFFFFUL, describe(error));
  return error;
}

}  // namespace kiosk::card
