#pragma once
// Long polls on an order's state, parked without a thread: a poll asks to be called back once
// when the order changes (or when the service stops), and re-reads the order then.

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace kiosk::cloud {

// Calls back the long polls of an order when it changes. Fed by the database's notifications
// (LISTEN/NOTIFY on PostgreSQL, so a change made by another process wakes this one too).
class Waiters {
 public:
  using Callback = std::function<void()>;

  // Calls `callback` once, at the order's next change or at wakeAll(), on the thread that
  // reports it; a callback must not block.
  void whenChanged(const std::string& orderId, Callback callback) {
    std::lock_guard lock(m_mutex);
    m_waiting[orderId].push_back(std::move(callback));
  }
  // Only orders someone is polling are tracked, so the map stays as small as the polls. An
  // empty id means any order may have changed (notifications were lost): every poll is called.
  void changed(const std::string& orderId) {
    if (orderId.empty()) return wakeAll();
    std::vector<Callback> due;
    {
      std::lock_guard lock(m_mutex);
      auto it = m_waiting.find(orderId);
      if (it == m_waiting.end()) return;
      due.swap(it->second);
      m_waiting.erase(it);
    }
    for (auto& callback : due) callback();
  }
  // Every parked poll, now (the service is stopping, or notifications were lost).
  void wakeAll() {
    std::map<std::string, std::vector<Callback>> due;
    {
      std::lock_guard lock(m_mutex);
      due.swap(m_waiting);
    }
    for (auto& [id, callbacks] : due) {
      for (auto& callback : callbacks) callback();
    }
  }

 private:
  std::mutex m_mutex;
  std::map<std::string, std::vector<Callback>> m_waiting;
};

}  // namespace kiosk::cloud
