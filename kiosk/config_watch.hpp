#pragma once
// Tells the flow which kiosk config the engine uses: posts ConfigLoaded (kiosk id, staff) each
// time the config's version changes, so neither the window nor the flow ever copies the whole
// config (its blocked-card list alone may hold 100 000 cards).

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "kiosk/event_queue.hpp"
#include "payments/engine.hpp"

namespace kiosk::app {

class ConfigWatch {
 public:
  ConfigWatch(payments::Engine& engine, EventQueue& queue) : m_engine(engine), m_queue(queue) {}
  ~ConfigWatch();  // stop()
  ConfigWatch(const ConfigWatch&) = delete;
  ConfigWatch& operator=(const ConfigWatch&) = delete;

  void start();
  void stop();
  // Looks now rather than at the next poll (after a sync the caller waited for).
  void checkNow();

 private:
  void run();
  void check();

  payments::Engine& m_engine;
  EventQueue& m_queue;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  bool m_checkNow = false;
  std::string m_etag;  // of the config last posted
  std::thread m_thread;
};

}  // namespace kiosk::app
