#pragma once
// The one place where PC/SC (pcsc-lite) return codes become the card layer's errors.

#include <string_view>

#include "card/error.hpp"

namespace kiosk::card {

// Maps a PC/SC return code other than SCARD_S_SUCCESS to a CardError and logs the mapping once
// (debug level: cancellations and timeouts are routine for the reader monitor). `where` names
// the call for the log line ("SCardTransmit").
CardError fromPcsc(long rv, std::string_view where);

}  // namespace kiosk::card
