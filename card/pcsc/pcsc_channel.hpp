#pragma once
// A CardChannel to the card in one PC/SC reader (pcsc-lite: a CCID reader, or vpcd's virtual
// reader): shared or exclusive connection, T=0 procedure bytes, transactions, reconnect after a
// reset.

#include <cstdint>
#include <memory>
#include <string>

#include "card/channel.hpp"

namespace kiosk::card {

class PcscChannel final : public CardChannel {
 public:
  enum class Protocol { T0, T1 };
  // Shared: other applications may connect too, and transactions keep them out of a
  // multi-APDU exchange. Exclusive: no other application can connect while the channel lives
  // (theirs fail with CardError::Sharing, and so does this one while another holds the card),
  // so no exchange can be interleaved and begin/endTransaction cost nothing (no pcscd round
  // trip).
  enum class Share { Shared, Exclusive };

  // Establishes a PC/SC context of its own and connects to the card in `reader`, T=0 or T=1
  // (whichever the card and reader agree on).
  static Result<std::unique_ptr<PcscChannel>, CardError> connect(const std::string& reader,
                                                                 Share share = Share::Shared);
  ~PcscChannel() override;
  PcscChannel(const PcscChannel&) = delete;
  PcscChannel& operator=(const PcscChannel&) = delete;

  // Also answers 61xx with GET RESPONSE (chained) and 6Cxx by resending with Le=xx, under
  // either protocol. After SCARD_W_RESET_CARD the channel reconnects and returns
  // CardError::Reset: the card lost its selection and session, so the caller restarts the
  // exchange. A pulled card is CardError::Removed.
  Result<Bytes, CardError> transmit(ByteView command) override;
  Result<void, CardError> beginTransaction() override;
  Result<void, CardError> endTransaction() override;
  Bytes atr() const override;

  const std::string& reader() const { return m_reader; }
  Protocol protocol() const { return m_protocol; }
  Share share() const { return m_share; }
  // SCardTransmit calls made so far, GET RESPONSE and 6Cxx resends included.
  std::uint64_t exchanges() const { return m_exchanges; }
  // Warm-resets the card (SCardReconnect with SCARD_RESET_CARD): staff's reader test.
  Result<void, CardError> reset();

 private:
  PcscChannel(long context, long card, std::string reader, Share share, Protocol protocol,
              Bytes atr);
  Result<Bytes, CardError> exchange(ByteView command);
  Result<void, CardError> reconnect(unsigned long initialization);
  Result<void, CardError> failed(long rv, const char* where);
  // After an exchange failed at the transport level: Removed if the card turns out to be gone.
  CardError settle(CardError error);

  long m_context;
  long m_card;
  std::string m_reader;
  Share m_share;
  Protocol m_protocol;
  Bytes m_atr;
  Bytes m_buffer;
  std::uint64_t m_exchanges = 0;
  bool m_inTransaction = false;
};

}  // namespace kiosk::card
