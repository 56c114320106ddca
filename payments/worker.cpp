#include "payments/worker.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace kiosk::payments {

SerialWorker::SerialWorker(std::string name) : m_name(std::move(name)) {
  m_thread = std::thread([this] { run(); });
}

SerialWorker::~SerialWorker() { stop(); }

void SerialWorker::post(std::function<void()> job) {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) return;
    m_jobs.push_back(std::move(job));
  }
  m_wake.notify_one();
}

void SerialWorker::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    m_jobs.clear();
  }
  m_wake.notify_all();
  if (m_thread.joinable()) m_thread.join();
  m_idle.notify_all();
}

bool SerialWorker::waitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  return m_idle.wait_for(lock, timeout, [this] { return m_jobs.empty() && !m_running; });
}

bool SerialWorker::idle() const {
  std::lock_guard lock(m_mutex);
  return m_jobs.empty() && !m_running;
}

void SerialWorker::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(m_mutex);
      m_wake.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
      if (m_stopping) return;
      job = std::move(m_jobs.front());
      m_jobs.pop_front();
      m_running = true;
    }
    try {
      job();
    } catch (const std::exception& e) {
      // A job must not take the worker down with it; this is a programming error.
      spdlog::critical("{} worker: {}", m_name, e.what());
    }
    {
      std::lock_guard lock(m_mutex);
      m_running = false;
      if (m_jobs.empty()) m_idle.notify_all();
    }
  }
}

}  // namespace kiosk::payments
