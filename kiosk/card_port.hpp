#pragma once
// The kiosk's card reader: ReaderWatch turns pcscd's reader events into the card port's, the
// engine's and the flow's; waitReader asks pcscd about a reader.

#include <chrono>
#include <mutex>
#include <string>

#include "card/pcsc/reader_monitor.hpp"
#include "kiosk/engine_bridge.hpp"
#include "payments/reader_port.hpp"
#include "payments/engine.hpp"

namespace kiosk::app {

using payments::ReaderCardPort;

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
