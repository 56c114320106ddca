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
  TaskThread();
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
  std::thread m_thread;  // last: started once the members above exist
};

}  // namespace kiosk::card
