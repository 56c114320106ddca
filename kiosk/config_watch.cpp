#include "kiosk/config_watch.hpp"

#include <spdlog/spdlog.h>

#include "kiosk/maintenance.hpp"

namespace kiosk::app {

namespace {

// The engine says nothing when it takes a new config, so the watch asks. Its status is a few
// indexed reads of the journal: cheap enough every two seconds, even on an idle kiosk.
constexpr std::chrono::seconds kPoll{2};

}  // namespace

ConfigWatch::~ConfigWatch() { stop(); }

void ConfigWatch::start() {
  std::lock_guard lock(m_mutex);
  if (m_thread.joinable()) return;
  m_stopping = false;
  m_thread = std::thread([this] { run(); });
}

void ConfigWatch::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

void ConfigWatch::checkNow() {
  {
    std::lock_guard lock(m_mutex);
    m_checkNow = true;
  }
  m_wake.notify_all();
}

void ConfigWatch::run() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    m_checkNow = false;
    lock.unlock();
    check();
    lock.lock();
    m_wake.wait_for(lock, kPoll, [this] { return m_stopping || m_checkNow; });
  }
}

void ConfigWatch::check() {
  const auto status = m_engine.status();
  if (!status.configLoaded || status.configEtag == m_etag) return;
  // One copy per new version, on this thread.
  const auto config = m_engine.config();
  if (!config) return;
  m_etag = status.configEtag;
  spdlog::info("kiosk: config {} in use, {} staff", m_etag, config->staff.size());
  m_queue.push(event::ConfigLoaded{
      config->kioskId, staffOf(*config),
      {config->service.phone, config->service.hours, config->service.timeZone}});
}

}  // namespace kiosk::app
