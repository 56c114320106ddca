#include "card/pcsc/pcsc_channel.hpp"

#include <winscard.h>

#include <chrono>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

#include "card/pcsc/pcsc_error.hpp"

namespace kiosk::card {

static_assert(std::is_same_v<SCARDCONTEXT, long> && std::is_same_v<SCARDHANDLE, long>);

namespace {

constexpr std::uint8_t kInsGetResponse = 0xC0;
// A card that keeps answering 61xx is broken; stop before the response grows without bound.
constexpr int kMaxGetResponses = 256;
constexpr std::chrono::milliseconds kSettleTime{1000};
constexpr std::chrono::milliseconds kSettlePoll{25};

DWORD shareMode(PcscChannel::Share share) {
  return share == PcscChannel::Share::Exclusive ? SCARD_SHARE_EXCLUSIVE : SCARD_SHARE_SHARED;
}

PcscChannel::Protocol toProtocol(DWORD active) {
  return active == SCARD_PROTOCOL_T0 ? PcscChannel::Protocol::T0 : PcscChannel::Protocol::T1;
}

Result<Bytes, CardError> readAtr(SCARDHANDLE card) {
  BYTE atr[MAX_ATR_SIZE];
  DWORD atrLength = sizeof atr;
  DWORD state = 0;
  DWORD protocol = 0;
  char name[MAX_READERNAME];
  DWORD nameLength = sizeof name;
  const LONG rv = SCardStatus(card, name, &nameLength, &state, &protocol, atr, &atrLength);
  if (rv != SCARD_S_SUCCESS) return fail(fromPcsc(rv, "SCardStatus"));
  return Bytes(atr, atr + atrLength);
}

// The command with its Le replaced (case 2 and 4) or appended (case 1 and 3), for 6Cxx.
// Extended-length commands are left alone: 6Cxx only exists for short Le.
std::optional<Bytes> withLe(ByteView command, std::uint8_t le) {
  Bytes out(command.begin(), command.end());
  if (command.size() == 4) {
    out.push_back(le);
    return out;
  }
  if (command.size() == 5) {
    out[4] = le;
    return out;
  }
  if (command.size() < 5 || command[4] == 0) return std::nullopt;
  const std::size_t lc = command[4];
  if (command.size() == 5 + lc) {
    out.push_back(le);
    return out;
  }
  if (command.size() == 6 + lc) {
    out.back() = le;
    return out;
  }
  return std::nullopt;
}

}  // namespace

PcscChannel::PcscChannel(long context, long card, std::string reader, Share share,
                         Protocol protocol, Bytes atr)
    : m_context(context),
      m_card(card),
      m_reader(std::move(reader)),
      m_share(share),
      m_protocol(protocol),
      m_atr(std::move(atr)),
      m_buffer(MAX_BUFFER_SIZE_EXTENDED) {}

PcscChannel::~PcscChannel() {
  if (m_inTransaction) (void)SCardEndTransaction(m_card, SCARD_LEAVE_CARD);
  (void)SCardDisconnect(m_card, SCARD_LEAVE_CARD);
  (void)SCardReleaseContext(m_context);
}

Result<std::unique_ptr<PcscChannel>, CardError> PcscChannel::connect(const std::string& reader,
                                                                     Share share) {
  SCARDCONTEXT context = 0;
  LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context);
  if (rv != SCARD_S_SUCCESS) return fail(fromPcsc(rv, "SCardEstablishContext"));
  SCARDHANDLE card = 0;
  DWORD active = 0;
  rv = SCardConnect(context, reader.c_str(), shareMode(share),
                    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &active);
  if (rv != SCARD_S_SUCCESS) {
    (void)SCardReleaseContext(context);
    return fail(fromPcsc(rv, "SCardConnect"));
  }
  auto atr = readAtr(card);
  if (!atr) {
    (void)SCardDisconnect(card, SCARD_LEAVE_CARD);
    (void)SCardReleaseContext(context);
    return fail(atr.error());
  }
  return std::unique_ptr<PcscChannel>(
      new PcscChannel(context, card, reader, share, toProtocol(active), std::move(*atr)));
}

Bytes PcscChannel::atr() const { return m_atr; }

Result<void, CardError> PcscChannel::failed(long rv, const char* where) {
  const CardError error = fromPcsc(rv, where);
  if (error == CardError::Reset) {
    // Another application (or the reader) reset the card: the handle must be reconnected
    // before it is usable again, and the caller told that the card's state is gone.
    m_inTransaction = false;
    if (auto again = reconnect(SCARD_LEAVE_CARD); !again) return again;
  }
  if (error == CardError::Removed || error == CardError::NoCard) m_inTransaction = false;
  return fail(error);
}

CardError PcscChannel::settle(CardError error) {
  // A card pulled in the middle of an APDU does not always fail as "removed": vpcd answers
  // with nothing, some readers with a communication error. Pulled cards show as absent once the
  // reader's presence poll runs (pcscd polls every 400 ms), so look for a while before calling
  // it a reader failure.
  const auto deadline = std::chrono::steady_clock::now() + kSettleTime;
  for (;;) {
    DWORD state = 0;
    DWORD protocol = 0;
    DWORD atrLength = 0;
    DWORD nameLength = 0;
    const LONG rv = SCardStatus(m_card, nullptr, &nameLength, &state, &protocol, nullptr, &atrLength);
    if (rv == SCARD_S_SUCCESS) {
      if ((state & SCARD_ABSENT) != 0) return CardError::Removed;
    } else {
      const CardError status = fromPcsc(rv, "SCardStatus");
      if (status == CardError::Removed || status == CardError::NoCard) return CardError::Removed;
      if (status != CardError::Protocol) return error;  // Protocol: buffer sizes only
    }
    if (std::chrono::steady_clock::now() >= deadline) return error;
    std::this_thread::sleep_for(kSettlePoll);
  }
}

Result<void, CardError> PcscChannel::reconnect(unsigned long initialization) {
  DWORD active = 0;
  const LONG rv = SCardReconnect(m_card, shareMode(m_share), SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                                 static_cast<DWORD>(initialization), &active);
  if (rv != SCARD_S_SUCCESS) return fail(fromPcsc(rv, "SCardReconnect"));
  m_protocol = toProtocol(active);
  if (auto atr = readAtr(m_card)) m_atr = std::move(*atr);
  return {};
}

Result<void, CardError> PcscChannel::reset() {
  m_inTransaction = false;
  return reconnect(SCARD_RESET_CARD);
}

Result<Bytes, CardError> PcscChannel::exchange(ByteView command) {
  const SCARD_IO_REQUEST* pci = m_protocol == Protocol::T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
  DWORD length = static_cast<DWORD>(m_buffer.size());
  ++m_exchanges;
  const LONG rv = SCardTransmit(m_card, pci, command.data(), static_cast<DWORD>(command.size()),
                                nullptr, m_buffer.data(), &length);
  if (rv != SCARD_S_SUCCESS) {
    auto error = failed(rv, "SCardTransmit");
    if (error.error() == CardError::Transport) return fail(settle(CardError::Transport));
    return fail(error.error());
  }
  if (length < 2) {
    return fail(settle(fromPcsc(SCARD_E_COMM_DATA_LOST, "SCardTransmit (no status word)")));
  }
  return Bytes(m_buffer.begin(), m_buffer.begin() + static_cast<std::ptrdiff_t>(length));
}

Result<Bytes, CardError> PcscChannel::transmit(ByteView command) {
  if (command.size() < 4) return fail(CardError::Protocol);
  auto response = exchange(command);
  if (!response) return response;

  // 6Cxx: wrong Le; the card says how many bytes it has. Resend once with that Le.
  if (response->size() == 2 && (*response)[0] == 0x6C) {
    if (auto again = withLe(command, (*response)[1])) {
      response = exchange(*again);
      if (!response) return response;
    }
  }

  // 61xx: more data waits; fetch it with GET RESPONSE until the card gives a final status.
  Bytes data;
  for (int round = 0; response->size() >= 2 && (*response)[response->size() - 2] == 0x61;
       ++round) {
    if (round == kMaxGetResponses) return fail(CardError::Protocol);
    const std::uint8_t available = response->back();
    data.insert(data.end(), response->begin(), response->end() - 2);
    // GET RESPONSE keeps the logical channel of the command (the low CLA bits).
    const Bytes getResponse{static_cast<std::uint8_t>(command[0] & 0x03), kInsGetResponse, 0x00,
                            0x00, available};
    response = exchange(getResponse);
    if (!response) return response;
  }
  if (data.empty()) return response;
  data.insert(data.end(), response->begin(), response->end());
  return data;
}

Result<void, CardError> PcscChannel::beginTransaction() {
  // An exclusive connection already keeps every other application away from the card, for
  // as long as it lives: a transaction would add two pcscd round trips and nothing else.
  if (m_share == Share::Exclusive) return {};
  const LONG rv = SCardBeginTransaction(m_card);
  if (rv != SCARD_S_SUCCESS) return failed(rv, "SCardBeginTransaction");
  m_inTransaction = true;
  return {};
}

Result<void, CardError> PcscChannel::endTransaction() {
  if (m_share == Share::Exclusive) return {};
  m_inTransaction = false;
  const LONG rv = SCardEndTransaction(m_card, SCARD_LEAVE_CARD);
  if (rv != SCARD_S_SUCCESS) return failed(rv, "SCardEndTransaction");
  return {};
}

}  // namespace kiosk::card
