#pragma once
// Between the resident flow and the transaction engine: runs the flow's commands on the engine
// and turns the engine's notices into the flow's events, posted to the main thread's queue.

#include <vector>

#include "kiosk/event_queue.hpp"
#include "kiosk/flow.hpp"
#include "payments/engine.hpp"
#include "payments/notice.hpp"

namespace kiosk::app {

// Pure conversions, one per notice.
Event toEvent(const payments::Notice& notice);
AccountView accountView(const payments::AccountInfo& account);
AmountView amountView(const payments::AccountInfo& account);
DoneView doneView(const payments::notice::WriteDone& done);

class EngineBridge {
 public:
  explicit EngineBridge(payments::Engine& engine) : m_engine(engine) {}
  // The sink to give the engine: converts and queues.
  static payments::Engine::Sink sinkInto(EventQueue& queue);
  // Runs the engine's commands; any other command is not the engine's and is ignored.
  void execute(const Command& command);
  void execute(const std::vector<Command>& commands);

 private:
  payments::Engine& m_engine;
};

}  // namespace kiosk::app
