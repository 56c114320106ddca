#include "payments/reader_port.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "card/open_profile.hpp"
#include "card/pcsc/pcsc_channel.hpp"

namespace kiosk::payments {

namespace {

// pcscd reports the card before it has powered it up: the first connections may fail.
constexpr std::chrono::milliseconds kConnectPatience{1500};
constexpr std::chrono::milliseconds kConnectRetry{40};

bool dropsChannel(card::CardError error) {
  return error == card::CardError::Removed || error == card::CardError::NoCard ||
         error == card::CardError::Reset || error == card::CardError::NoReader ||
         error == card::CardError::NoService || error == card::CardError::Unresponsive ||
         error == card::CardError::Transport;
}

}  // namespace

ReaderCardPort::ReaderCardPort(Connect connect, const card::EcKey& issuerPublic)
    : ReaderCardPort(std::move(connect), std::make_unique<card::OpenProfile>(issuerPublic)) {}

ReaderCardPort::ReaderCardPort(Connect connect, std::unique_ptr<card::CardProfile> profile)
    : m_connect(std::move(connect)), m_profile(std::move(profile)) {}

ReaderCardPort::Connect ReaderCardPort::pcsc(std::string reader) {
  return [reader = std::move(reader)]() -> Result<std::unique_ptr<card::CardChannel>, card::CardError> {
    auto connected = card::PcscChannel::connect(reader, card::PcscChannel::Share::Shared);
    if (!connected) return fail(connected.error());
    return std::unique_ptr<card::CardChannel>(std::move(*connected));
  };
}

void ReaderCardPort::drop() {
  m_session.reset();  // first: it may end a transaction on the channel
  m_channel.reset();
}

void ReaderCardPort::cardInserted() {
  std::lock_guard lock(m_mutex);
  drop();
}

void ReaderCardPort::cardRemoved() {
  std::lock_guard lock(m_mutex);
  drop();
}

std::size_t ReaderCardPort::apdus() const {
  std::lock_guard lock(m_mutex);
  return m_apdus;
}

Result<card::ProfileSession*, card::CardError> ReaderCardPort::session() {
  if (m_session) return m_session.get();
  const auto deadline = std::chrono::steady_clock::now() + kConnectPatience;
  for (;;) {
    auto connected = m_connect();
    if (connected) {
      m_channel = std::move(*connected);
      m_session = m_profile->open(*m_channel);
      return m_session.get();
    }
    const card::CardError error = connected.error();
    const bool worthWaiting = error == card::CardError::NoCard ||
                              error == card::CardError::Unresponsive ||
                              error == card::CardError::Reset || error == card::CardError::Sharing;
    if (!worthWaiting || std::chrono::steady_clock::now() >= deadline) return fail(error);
    std::this_thread::sleep_for(kConnectRetry);
  }
}

template <class Op>
auto ReaderCardPort::withSession(Op op) -> decltype(op(std::declval<card::ProfileSession&>())) {
  std::lock_guard lock(m_mutex);
  auto open = session();
  if (!open) return fail(open.error());
  card::ProfileSession& current = **open;
  const std::size_t before = current.apdus();
  auto result = op(current);
  m_apdus += current.apdus() - before;
  if (!result && dropsChannel(result.error())) drop();
  return result;
}

Result<CardFacts, card::CardError> ReaderCardPort::read() {
  using Read = Result<CardFacts, card::CardError>;
  return withSession([this](card::ProfileSession& session) -> Read {
    auto read = session.readFacts();
    if (!read) return fail(read.error());
    m_facts = *read;
    return std::move(*read);
  });
}

Result<CardFacts, card::CardError> ReaderCardPort::readAllFiles() {
  using Read = Result<CardFacts, card::CardError>;
  return withSession([this](card::ProfileSession& session) -> Read {
    auto read = session.readAllFiles();
    if (!read) return fail(read.error());
    m_facts = *read;
    return std::move(*read);
  });
}

Result<kiosk::Bytes, card::CardError> ReaderCardPort::challenge() {
  return withSession([](card::ProfileSession& session) { return session.challenge(); });
}

Result<void, card::CardError> ReaderCardPort::run(const card::WriteScript& script) {
  {
    std::lock_guard lock(m_mutex);
    // What the card itself would answer to a script made for another card: refused, so the
    // engine treats it as it treats the card's refusal (read back, then a fresh challenge).
    if (!m_facts) {
      spdlog::error("card port: refusing a write script before any card was read");
      return fail(card::CardError::AccessDenied);
    }
    if (auto checked = m_profile->checkScript(script, *m_facts); !checked) {
      spdlog::error("card port: refusing a write script for the card: {}", checked.error());
      return fail(card::CardError::AccessDenied);
    }
  }
  return withSession(
      [&script](card::ProfileSession& session) { return session.runScript(script); });
}

Result<bool, card::CardError> ReaderCardPort::holds(const card::CreditToken& token) {
  return withSession([&token](card::ProfileSession& session) { return session.findToken(token); });
}

Result<kiosk::Bytes, card::CardError> ReaderCardPort::prove(const card::CreditToken& token,
                                                            kiosk::ByteView nonce) {
  return withSession(
      [&](card::ProfileSession& session) { return session.proveToken(token, nonce); });
}

// ---------------------------------------------------------------------------------------

}  // namespace kiosk::payments
