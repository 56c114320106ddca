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
#include "card/pcsc/reader_monitor.hpp"
#include "kiosk/engine_bridge.hpp"
#include "payments/card_port.hpp"
#include "payments/engine.hpp"

namespace kiosk::app {

class ReaderCardPort final : public payments::CardPort {
 public:
  using Connect = std::function<Result<std::unique_ptr<card::CardChannel>, card::CardError>()>;

  ReaderCardPort(Connect connect, card::EcKey issuerPublic);
  // A PC/SC reader by name.
  static Connect pcsc(std::string reader);

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
  Result<card::CardChannel*, card::CardError> channel();
  template <class Op>
  auto withReader(Op op) -> decltype(op(std::declval<card::CardReader&>()));

  mutable std::mutex m_mutex;
  Connect m_connect;
  card::EcKey m_issuer;
  std::unique_ptr<card::CardChannel> m_channel;
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
