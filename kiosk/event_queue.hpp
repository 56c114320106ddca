#pragma once
// The one queue into the main thread: workers (the engine, the reader watch, maintenance, the
// simulation panel's runner) post the flow's events here; the window loop or the headless
// driver takes them and feeds them to the flow.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "kiosk/flow.hpp"

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

}  // namespace kiosk::app
