#pragma once
// The in-process reader driver: a CardChannel straight to a CardEmulator (the virtual card)
// with no PC/SC and no T=0, for unit tests, the virtual meter and the simulation.

#include <cstddef>

#include "card/channel.hpp"
#include "card/error.hpp"
#include "platform/bytes.hpp"
#include "platform/result.hpp"

namespace kiosk::card {

// An in-process CardChannel over a CardEmulator, for unit tests and the simulation: no T=0,
// no reader. An empty answer from the emulator (a tear) makes the card "removed" until
// insert() is called again (power cycle: volatile state lost).
class LocalChannel : public CardChannel {
 public:
  explicit LocalChannel(CardEmulator& card);

  Result<Bytes, CardError> transmit(ByteView command) override;
  Result<void, CardError> beginTransaction() override;
  Result<void, CardError> endTransaction() override;
  Bytes atr() const override;

  void insert();  // power on
  void remove();  // power off
  bool present() const { return m_present; }
  std::size_t transmitted() const { return m_count; }  // APDUs sent since construction

 private:
  CardEmulator& m_card;
  bool m_present = true;
  std::size_t m_count = 0;
};

}  // namespace kiosk::card
