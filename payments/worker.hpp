#pragma once
// A thread that runs jobs one after another, in the order they were posted: the engine has
// one for the card, one for the order being paid, one for other cloud calls and one for sync.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace kiosk::payments {

class SerialWorker {
 public:
  explicit SerialWorker(std::string name);
  ~SerialWorker();  // stop()
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;

  void post(std::function<void()> job);
  // Drops jobs not yet started, lets the running one finish, joins.
  void stop();
  // Waits until no job is queued or running; false on timeout.
  bool waitIdle(std::chrono::milliseconds timeout);
  bool idle() const;

 private:
  void run();

  std::string m_name;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::condition_variable m_idle;
  std::deque<std::function<void()>> m_jobs;
  bool m_running = false;
  bool m_stopping = false;
  std::thread m_thread;
};

}  // namespace kiosk::payments
