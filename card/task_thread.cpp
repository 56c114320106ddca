#include "card/task_thread.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <utility>

namespace kiosk::card {

namespace {
constexpr int kBackgroundNice = 10;
}

TaskThread::TaskThread(Priority priority) : m_priority(priority), m_thread([this] { loop(); }) {}

TaskThread::~TaskThread() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_one();
  m_thread.join();
}

void TaskThread::submit(std::function<void()> task) {
  {
    std::lock_guard lock(m_mutex);
    m_tasks.push_back(std::move(task));
  }
  m_wake.notify_one();
}

void TaskThread::wait() {
  std::unique_lock lock(m_mutex);
  m_idle.wait(lock, [this] { return m_tasks.empty() && !m_busy; });
}

void TaskThread::loop() {
  if (m_priority == Priority::Background) {
    // Linux gives each thread its own nice value; lowering one's own priority needs no
    // privilege. Should it fail, the tasks still run, only at the normal priority.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kBackgroundNice);
  }
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_wake.wait(lock, [this] { return m_stop || !m_tasks.empty(); });
    if (m_tasks.empty()) return;  // stopping, and nothing left to run
    std::function<void()> task = std::move(m_tasks.front());
    m_tasks.pop_front();
    m_busy = true;
    lock.unlock();
    task();
    lock.lock();
    m_busy = false;
    if (m_tasks.empty()) m_idle.notify_all();
  }
}

}  // namespace kiosk::card
