#pragma once
// The transaction engine's view of the card reader, built on the card layer: ReaderCardPort
// reads, authenticates and writes the inserted card through its card profile (the open
// profile unless told otherwise) over whatever channel the reader gives (PC/SC for real
// readers and vpcd, in-process in tests); ReaderWatch turns pcscd's reader events into the
// engine's and the flow's.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "card/card_profile.hpp"
#include "card/channel.hpp"
#include "card/crypto.hpp"
#include "card/pcsc/pcsc_channel.hpp"
#include "card/pcsc/reader_monitor.hpp"
#include "kiosk/engine_bridge.hpp"
#include "payments/card_port.hpp"
#include "payments/engine.hpp"

namespace kiosk::app {

class ReaderCardPort final : public payments::CardPort {
 public:
  using Connect = std::function<Result<std::unique_ptr<card::CardChannel>, card::CardError>()>;

  // Cards of the open profile, their ID files verified with `issuerPublic`.
  ReaderCardPort(Connect connect, const card::EcKey& issuerPublic);
  // Cards of `profile`.
  ReaderCardPort(Connect connect, std::unique_ptr<card::CardProfile> profile);
  // A PC/SC reader by name, connected shared. The port holds no PC/SC lock between its
  // operations (no exclusive connection, no transaction left open): each operation runs in a
  // transaction of its own, so other applications reach the card in between. A kiosk that
  // dies holding a lock makes pcscd reset the card when it cleans up after it, and when the
  // card left with it (vpcd's card in the killed process, or a card pulled at that moment)
  // pcsc-lite 1.9.9 marks the slot empty behind its own presence poll: a card put in before
  // that poll is taken for the old one and never powered or reported.
  static Connect pcsc(std::string reader);

  // The next operation connects afresh: a new card, or the same one back.
  void cardInserted();
  void cardRemoved();

  Result<payments::CardFacts, card::CardError> read() override;
  Result<kiosk::Bytes, card::CardError> challenge() override;
  // The profile checks the script against the card read last before it goes out:
  // AccessDenied, and nothing sent, when it does not fit that card (or no card was read).
  Result<void, card::CardError> run(const card::WriteScript& script) override;
  Result<bool, card::CardError> holds(const card::CreditToken& token) override;

  // APDUs sent since construction (the benchmark's count).
  std::size_t apdus() const;

 private:
  Result<card::ProfileSession*, card::CardError> session();
  void drop();
  template <class Op>
  auto withSession(Op op) -> decltype(op(std::declval<card::ProfileSession&>()));

  mutable std::mutex m_mutex;
  Connect m_connect;
  // Remembers what it needs across channels and readers (the open profile: the ID files of
  // the cards it verified).
  std::unique_ptr<card::CardProfile> m_profile;
  std::unique_ptr<card::CardChannel> m_channel;
  // One session per channel, kept from one operation to the next (the open profile's
  // signature check thread with it); it never keeps a transaction open between them.
  std::unique_ptr<card::ProfileSession> m_session;
  // The card read last, which a write script must fit.
  std::optional<card::CardFacts> m_facts;
  std::size_t m_apdus = 0;
};

// Waits until pcscd reports `reader` with a card (present) or empty; false on timeout or when
// pcscd cannot be asked (card::waitForCard).
bool waitReader(const std::string& reader, bool present, std::chrono::milliseconds timeout);

// Follows one reader (by name; empty: the first reader pcscd lists) and reports its card
// insertions and removals to the port, the engine and the flow's queue; pcscd or the reader
// going away puts the kiosk out of service until they are back.
class ReaderWatch {
 public:
  ReaderWatch(std::string reader, ReaderCardPort& port, payments::Engine& engine, EventQueue& queue);
  ~ReaderWatch();
  void start();
  void stop();
  std::string reader() const;

 private:
  void onEvent(const card::ReaderEvent& event);

  mutable std::mutex m_mutex;
  std::string m_reader;
  bool m_fixed;
  bool m_present = false;
  ReaderCardPort& m_port;
  payments::Engine& m_engine;
  EventQueue& m_queue;
  card::ReaderMonitor m_monitor;
};

}  // namespace kiosk::app
