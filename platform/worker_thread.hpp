#pragma once
// One thread that runs posted jobs one at a time, in the order posted. Its options say what
// becomes of the jobs still queued when it stops, how nice the thread is, and its name.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace kiosk::platform {

struct WorkerOptions {
  // What stop() (and the destructor) does with jobs posted but not started: Finish runs them
  // first, Drop lets only the running one end.
  enum class AtStop { Finish, Drop };
  AtStop atStop = AtStop::Finish;
  // Added to the nice value of the thread that constructs the worker (Linux keeps one per
  // thread; lowering one's own priority needs no privilege). 0: the same priority.
  int niceness = 0;
  // For logs and the thread's name as top and gdb show it (15 characters are kept).
  std::string name = "worker";
};

class WorkerThread {
 public:
  explicit WorkerThread(WorkerOptions options = {});
  ~WorkerThread();  // stop()
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // Ignored once stop() began. A job that throws is logged and the worker goes on.
  void post(std::function<void()> job);
  // Applies the AtStop policy, lets the running job finish, joins. Idempotent.
  void stop();
  // Returns once every job posted so far has run (or was dropped).
  void wait();
  // The same, with a limit; false on timeout.
  bool waitIdle(std::chrono::milliseconds timeout);
  bool idle() const;

  const WorkerOptions& options() const { return m_options; }

 private:
  void run();
  bool idleLocked() const { return m_jobs.empty() && !m_busy; }

  WorkerOptions m_options;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;  // a job or the stop, for the thread
  std::condition_variable m_idle;  // the queue ran empty, for wait()
  std::deque<std::function<void()>> m_jobs;
  bool m_busy = false;
  bool m_stopping = false;
  std::thread m_thread;  // last: started once the members above exist
};

}  // namespace kiosk::platform
