#pragma once
// Long polls on an order's state: a poll waits here until the order changes or its time is up.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace kiosk::cloud {

// Wakes long polls when an order changes. Fed by the database's notifications (LISTEN/NOTIFY
// on PostgreSQL, so a change made by another process wakes this one too).
class Waiters {
 public:
  // Only orders someone is polling are tracked, so the map stays as small as the polls.
  void changed(const std::string& orderId) {
    {
      std::lock_guard lock(m_mutex);
      auto it = m_generation.find(orderId);
      if (it == m_generation.end()) return;
      ++it->second;
    }
    m_cv.notify_all();
  }
  std::uint64_t generation(const std::string& orderId) {
    std::lock_guard lock(m_mutex);
    return m_generation[orderId];
  }
  // Waits until the order's generation moves past `seen` or the time is up.
  void wait(const std::string& orderId, std::uint64_t seen, std::chrono::milliseconds upTo) {
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, upTo, [&] { return m_generation[orderId] != seen; });
  }
  void forget(const std::string& orderId) {
    std::lock_guard lock(m_mutex);
    m_generation.erase(orderId);
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::map<std::string, std::uint64_t> m_generation;
};

}  // namespace kiosk::cloud
