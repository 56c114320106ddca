#include "kiosk/event_queue.hpp"

namespace kiosk::app {

void EventQueue::push(Event event) {
  std::function<void()> listener;
  {
    std::lock_guard lock(m_mutex);
    m_events.push_back(std::move(event));
    listener = m_listener;
  }
  m_ready.notify_one();
  // Outside the lock: the listener may take its own (the window's wake-up).
  if (listener) listener();
}

void EventQueue::setListener(std::function<void()> listener) {
  std::lock_guard lock(m_mutex);
  m_listener = std::move(listener);
}

std::optional<Event> EventQueue::pop(std::chrono::milliseconds wait) {
  std::unique_lock lock(m_mutex);
  if (!m_ready.wait_for(lock, wait, [this] { return !m_events.empty(); })) return std::nullopt;
  Event event = std::move(m_events.front());
  m_events.pop_front();
  return event;
}

std::vector<Event> EventQueue::drain() {
  std::lock_guard lock(m_mutex);
  std::vector<Event> out(std::make_move_iterator(m_events.begin()),
                         std::make_move_iterator(m_events.end()));
  m_events.clear();
  return out;
}

}  // namespace kiosk::app
