#pragma once
// Maintenance work off the UI thread: runs the flow's maintenance commands (staff actions into
// the journal, the dashboard's facts, the reader test, sync, the restart's last sync) one after
// another on a worker of its own, and posts what they found to the flow's queue as events.

#include <filesystem>
#include <functional>
#include <string>

#include "kiosk/event_queue.hpp"
#include "kiosk/flow.hpp"
#include "payments/card_port.hpp"
#include "payments/engine.hpp"
#include "payments/journal.hpp"
#include "platform/worker_thread.hpp"

namespace kiosk::app {

struct MaintenanceParts {
  payments::Engine& engine;
  payments::Journal& journal;
  payments::CardPort& port;
  EventQueue& queue;
  std::filesystem::path journalPath;     // its folder's disk is the dashboard's "disk"
  std::function<std::string()> reader;   // the PC/SC reader followed; "" when none
  bool simulated = false;                // simulation's reader: no pcscd to check
};

class MaintenanceWorker {
 public:
  explicit MaintenanceWorker(MaintenanceParts parts);
  ~MaintenanceWorker();  // stop()
  MaintenanceWorker(const MaintenanceWorker&) = delete;
  MaintenanceWorker& operator=(const MaintenanceWorker&) = delete;

  // Queues `command` when it is maintenance work; false for any other (the engine's).
  bool execute(const Command& command);
  // Drops what is queued, lets the running job finish.
  void stop();
  // Waits until the queued work is done; false on timeout.
  bool waitIdle(std::chrono::milliseconds timeout);

 private:
  MaintenanceView gather();
  ReaderTestView testReader();

  MaintenanceParts m_parts;
  platform::WorkerThread m_worker{{platform::WorkerOptions::AtStop::Drop, 0, "maintenance"}};
};

// The staff who may enter maintenance, as the kiosk config lists them.
std::vector<StaffCredential> staffOf(const payments::KioskConfig& config);

}  // namespace kiosk::app
