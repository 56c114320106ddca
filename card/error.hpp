#pragma once
// The card layer's expected failures, as values. PC/SC return codes map onto these in exactly
// one function (card/pcsc); card status words and profile checks map onto them in the profile.

#include <string_view>

namespace kiosk::card {

enum class CardError {
  // Reader and transport (PC/SC, vpcd)
  NoService,       // pcscd is not running (SCARD_E_NO_SERVICE): retried with backoff
  NoReader,        // no reader connected
  NoCard,          // no card in the reader
  Removed,         // the card was pulled during an exchange
  Reset,           // the card was reset by another application: reconnect
  Unresponsive,    // the card does not answer (mute card, bad ATR)
  Sharing,         // another application holds the card exclusively
  Timeout,
  Cancelled,       // SCardCancel during shutdown
  Transport,       // any other reader or transport failure
  // Card and profile
  Protocol,        // malformed APDU or response, unexpected length
  ForeignCard,     // the application (AID) is not on the card
  NotAuthentic,    // issuer signature or internal authentication failed: a clone or a fake
  AccessDenied,    // secure messaging MAC rejected, security status not satisfied
  BadData,         // a file's contents do not parse or their MAC does not verify
  Full,            // no free credit record on the card
  StatusWord,      // any other non-9000 status word
};

// A short English description for logs ("card removed during exchange").
std::string_view describe(CardError error);

}  // namespace kiosk::card
