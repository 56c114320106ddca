#pragma once
// Collects a ReaderMonitor's events so that a test can wait for the one it expects.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "card/pcsc/reader_monitor.hpp"

namespace kiosk::card::test {

class EventLog {
 public:
  void push(const ReaderEvent& event) {
    std::lock_guard lock(m_mutex);
    m_events.push_back(event);
    m_changed.notify_all();
  }
  ReaderMonitor::Callback callback() {
    return [this](const ReaderEvent& event) { push(event); };
  }

  // Waits for the first event after the read position that matches; consumes up to it.
  template <class T>
  std::optional<T> waitFor(std::function<bool(const T&)> match = nullptr,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(m_mutex);
    std::optional<T> found;
    m_changed.wait_for(lock, timeout, [&] {
      for (; m_next < m_events.size(); ++m_next) {
        if (const T* event = std::get_if<T>(&m_events[m_next]); event && (!match || match(*event))) {
          found = *event;
          ++m_next;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  // Everything seen so far, for failure messages.
  std::string dump() const {
    std::lock_guard lock(m_mutex);
    std::string out;
    for (const auto& event : m_events) out += "  " + describe(event) + "\n";
    return out;
  }
  std::vector<ReaderEvent> all() const {
    std::lock_guard lock(m_mutex);
    return m_events;
  }
  // Moves the read position past everything seen so far.
  void skip() {
    std::lock_guard lock(m_mutex);
    m_next = m_events.size();
  }

 private:
  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<ReaderEvent> m_events;
  std::size_t m_next = 0;
};

}  // namespace kiosk::card::test
