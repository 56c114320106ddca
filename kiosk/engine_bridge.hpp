#pragma once
// Between the resident flow and the transaction engine: runs the flow's commands on the engine
// and turns the engine's notices into the flow's events, which wait in a thread-safe queue
// until the UI main loop (or the headless driver) takes them.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "kiosk/flow.hpp"
#include "payments/engine.hpp"
#include "payments/notice.hpp"

namespace kiosk::app {

class EventQueue {
 public:
  void push(Event event);
  // The next event, waiting up to `wait` for one.
  std::optional<Event> pop(std::chrono::milliseconds wait);
  std::vector<Event> drain();
  // Called after every push, from the pushing thread (the window wakes its event loop).
  void setListener(std::function<void()> listener);

 private:
  std::mutex m_mutex;
  std::condition_variable m_ready;
  std::deque<Event> m_events;
  std::function<void()> m_listener;
};

// Pure conversions, one per notice.
Event toEvent(const payments::Notice& notice);
AccountView accountView(const payments::AccountInfo& account);
AmountView amountView(const payments::AccountInfo& account);
DoneView doneView(const payments::notice::WriteDone& done);

class EngineBridge {
 public:
  explicit EngineBridge(payments::Engine& engine) : m_engine(engine) {}
  // The sink to give the engine: converts and queues.
  static payments::Engine::Sink sinkInto(EventQueue& queue);
  void execute(const Command& command);
  void execute(const std::vector<Command>& commands);

 private:
  payments::Engine& m_engine;
};

}  // namespace kiosk::app
