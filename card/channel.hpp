#pragma once
// The seam between card logic and readers: a CardChannel carries APDUs to one card. It is
// implemented on PC/SC (real readers and vpcd), and in-process for fast unit tests.

#include "platform/bytes.hpp"
#include "card/error.hpp"
#include "platform/result.hpp"

namespace kiosk::card {

class CardChannel {
 public:
  virtual ~CardChannel() = default;
  // Sends one command APDU; returns the response data followed by SW1 SW2. T=0 procedure
  // bytes (61xx GET RESPONSE, 6Cxx resend with Le) are handled below this call.
  virtual Result<Bytes, CardError> transmit(ByteView command) = 0;
  // Brackets a multi-APDU exchange so that no other application interleaves.
  virtual Result<void, CardError> beginTransaction() = 0;
  virtual Result<void, CardError> endTransaction() = 0;
  virtual Bytes atr() const = 0;
};

// What a card does, independent of how it is reached: the virtual card implements it, and it
// can be served in-process or on vpcd's socket so that real pcscd talks to it.
class CardEmulator {
 public:
  virtual ~CardEmulator() = default;
  virtual Bytes atr() const = 0;
  virtual void powerOn() = 0;
  virtual void powerOff() = 0;  // volatile state (selection, challenge, session) is lost
  // One command APDU in, response data + SW1 SW2 out.
  virtual Bytes process(ByteView command) = 0;
};

}  // namespace kiosk::card
