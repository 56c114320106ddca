#pragma once
// One worker thread that runs submitted tasks in order. A card read checks signatures on it
// while its next APDUs travel to the card and back, instead of between them.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace kiosk::card {

class TaskThread {
 public:
  // Background: the worker runs at a lower scheduling priority (nice +10), so that a task
  // submitted while the submitting thread still has work to do (send the next APDU) waits for
  // a free moment instead of taking the submitting thread's core from it on wake-up. On a
  // two-core kiosk that is the difference between overlapping a signature check with the
  // APDUs in flight and stalling the read for the length of the check.
  enum class Priority { Normal, Background };
  explicit TaskThread(Priority priority = Priority::Normal);
  // Runs the tasks already submitted, then stops the thread.
  ~TaskThread();
  TaskThread(const TaskThread&) = delete;
  TaskThread& operator=(const TaskThread&) = delete;

  // Tasks must not throw; they run one at a time, in the order submitted.
  void submit(std::function<void()> task);
  // Returns once every task submitted so far has run.
  void wait();

 private:
  void loop();

  std::mutex m_mutex;
  std::condition_variable m_wake;  // a task or the stop for the worker
  std::condition_variable m_idle;  // the queue ran empty, for wait()
  std::deque<std::function<void()>> m_tasks;
  bool m_busy = false;
  bool m_stop = false;
  Priority m_priority;
  std::thread m_thread;  // last: started once the members above exist
};

}  // namespace kiosk::card
