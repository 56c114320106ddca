#include "card/local_channel.hpp"

namespace kiosk::card {

LocalChannel::LocalChannel(CardEmulator& card) : m_card(card) { m_card.powerOn(); }

Result<Bytes, CardError> LocalChannel::transmit(ByteView command) {
  if (!m_present) return fail(CardError::NoCard);
  ++m_count;
  Bytes response = m_card.process(command);
  if (response.empty()) {
    // The emulator tore the command: as if the card left the reader mid-exchange.
    m_present = false;
    m_card.powerOff();
    return fail(CardError::Removed);
  }
  return response;
}

Result<void, CardError> LocalChannel::beginTransaction() {
  if (!m_present) return fail(CardError::NoCard);
  return {};
}

Result<void, CardError> LocalChannel::endTransaction() {
  if (!m_present) return fail(CardError::Removed);
  return {};
}

Bytes LocalChannel::atr() const { return m_present ? m_card.atr() : Bytes{}; }

void LocalChannel::insert() {
  m_card.powerOff();
  m_card.powerOn();
  m_present = true;
}

void LocalChannel::remove() {
  m_card.powerOff();
  m_present = false;
}

}  // namespace kiosk::card
