#pragma once
// The transaction engine's view of the card reader, built on the card layer: ReaderCardPort
// reads, authenticates and writes the inserted card over whatever channel the reader gives
// (PC/SC for real readers and vpcd, in-process in tests); ReaderWatch turns pcscd's reader
// events into the engine's and the flow's.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "card/card_reader.hpp"
#include "card/channel.hpp"
#include "card/crypto.hpp"
#include "card/id_verifier.hpp"
#include "card/pcsc/pcsc_channel.hpp"
#include "card/pcsc/reader_monitor.hpp"
#include "kiosk/engine_bridge.hpp"
#include "payments/card_port.hpp"
#include "payments/engine.hpp"

namespace kiosk::app {

class ReaderCardPort final : public payments::CardPort {
 public:
  using Connect = std::function<Result<std::unique_ptr<card::CardChannel>, card::CardError>()>;

  ReaderCardPort(Connect connect, const card::EcKey& issuerPublic);
  // A PC/SC reader by name. Exclusive: the kiosk keeps the card to itself from the first
  // operation until the card leaves, so no operation needs a PC/SC transaction of its own;
  // when another application already holds the card, the connection is shared instead (each
  // operation then runs in a transaction). Other applications cannot connect to the card
  // while the kiosk holds it exclusively (their connection fails: "card in use").
  static Connect pcsc(std::string reader,
                      card::PcscChannel::Share share = card::PcscChannel::Share::Exclusive);

  // The next operation connects afresh: a new card, or the same one back.
  void cardInserted();
  void cardRemoved();

  Result<payments::CardFacts, card::CardError> read() override;
  Result<card::Bytes, card::CardError> challenge() override;
  Result<void, card::CardError> run(const card::WriteScript& script) override;
  Result<bool, card::CardError> holds(const card::CreditToken& token) override;

  // APDUs sent since construction (the benchmark's count).
  std::size_t apdus() const;

 private:
  Result<card::CardReader*, card::CardError> reader();
  void drop();
  template <class Op>
  auto withReader(Op op) -> decltype(op(std::declval<card::CardReader&>()));

  mutable std::mutex m_mutex;
  Connect m_connect;
  // Remembers the ID files of the cards it verified, across channels and readers.
  card::IdVerifier m_ids;
  std::unique_ptr<card::CardChannel> m_channel;
  // One reader per channel, kept from one operation to the next: a write's GET CHALLENGE
  // and script then run in one transaction on a shared channel (see CardReader).
  std::unique_ptr<card::CardReader> m_reader;
  std::size_t m_apdus = 0;
};

// Follows one reader (by name; empty: the first reader pcscd lists) and reports its card
// insertions and removals to the port, the engine and the flow's queue; pcscd or the reader
// going away puts the kiosk out of service until they are back.
// Waits until pcscd reports `reader` with a card (present) or empty; false on timeout or when
// pcscd cannot be asked.
bool waitReader(const std::string& reader, bool present, std::chrono::milliseconds timeout);

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
