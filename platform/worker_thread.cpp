#include "platform/worker_thread.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <utility>

namespace kiosk::platform {

namespace {
constexpr int kMaxNice = 19;
constexpr std::size_t kThreadNameMax = 15;  // Linux keeps 16 bytes with the terminating NUL

void renameThisThread(const std::string& name) {
  const std::string kept = name.substr(0, kThreadNameMax);
  (void)::pthread_setname_np(::pthread_self(), kept.c_str());
}

void lowerThisThread(int niceness) {
  const auto self = static_cast<id_t>(::gettid());
  errno = 0;
  const int current = ::getpriority(PRIO_PROCESS, self);
  if (current == -1 && errno != 0) return;
  // Should it fail, the jobs still run, only at the creator's priority.
  (void)::setpriority(PRIO_PROCESS, self, std::min(current + niceness, kMaxNice));
}
}  // namespace

WorkerThread::WorkerThread(WorkerOptions options)
    : m_options(std::move(options)), m_thread([this] { run(); }) {}

WorkerThread::~WorkerThread() { stop(); }

void WorkerThread::post(std::function<void()> job) {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) return;
    m_jobs.push_back(std::move(job));
  }
  m_wake.notify_one();
}

void WorkerThread::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    if (m_options.atStop == WorkerOptions::AtStop::Drop) m_jobs.clear();
  }
  m_wake.notify_all();
  if (m_thread.joinable()) m_thread.join();
  m_idle.notify_all();
}

void WorkerThread::wait() {
  std::unique_lock lock(m_mutex);
  m_idle.wait(lock, [this] { return idleLocked(); });
}

bool WorkerThread::waitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  return m_idle.wait_for(lock, timeout, [this] { return idleLocked(); });
}

bool WorkerThread::idle() const {
  std::lock_guard lock(m_mutex);
  return idleLocked();
}

void WorkerThread::run() {
  renameThisThread(m_options.name);
  if (m_options.niceness > 0) lowerThisThread(m_options.niceness);
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_wake.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
    if (m_jobs.empty()) return;  // stopping, and nothing left to run
    std::function<void()> job = std::move(m_jobs.front());
    m_jobs.pop_front();
    m_busy = true;
    lock.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      // A job must not take the worker down with it; this is a programming error.
      spdlog::critical("{} worker: {}", m_options.name, e.what());
    }
    lock.lock();
    m_busy = false;
    if (m_jobs.empty()) m_idle.notify_all();
  }
}

}  // namespace kiosk::platform
