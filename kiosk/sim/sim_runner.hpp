#pragma once
// The simulation panel's work, off the UI thread: the panel (a screen function) returns a
// SimIntent, and the runner carries it out on a worker against the Simulation (cards in and
// out, the phone paying on the pay page, the network, time, the meters). What the panel shows
// of it comes back as a snapshot; the cards' effects reach the flow through its event queue.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kiosk/sim/simulation.hpp"
#include "platform/worker_thread.hpp"

namespace kiosk::sim {

// What was pressed on the simulation panel (or what a demo step does). TogglePanel folds or
// unfolds the panel itself: the window loop's business, never the runner's.
struct SimIntent {
  enum class Kind {
    None, Insert, Pull, Pay, Decline, OpenPayPage, SetNetwork, Advance, UseMeter, TogglePanel
  };
  Kind kind = Kind::None;
  std::string key;       // Insert: the demo card; UseMeter: whose meter
  std::string payUrl;    // Pay, Decline, OpenPayPage
  std::string orderId;   // for the status line
  bool up = true;        // SetNetwork
  std::chrono::seconds by{0};  // Advance
};

// The panel's view model.
struct SimPanelView {
  std::vector<std::string> cards;       // demo card keys, in panel order
  std::optional<std::string> inserted;  // the card in the reader
  bool paying = false;                  // the pay screen shows an order: pay/decline apply
  bool networkUp = true;
  std::int64_t minutesAhead = 0;
  std::string status;                   // what the last action did, or why it failed
  bool collapsed = false;               // folded to the button that unfolds it
  bool scripted = false;                // a demo drives the simulation: only that button works
};

class SimRunner {
 public:
  using OpenUrl = std::function<bool(const std::string& url, std::string* error)>;
  // `changed` is called from the worker after each intent (the window wakes up).
  SimRunner(Simulation& simulation, OpenUrl openUrl, std::function<void()> changed);
  ~SimRunner();  // stop()
  SimRunner(const SimRunner&) = delete;
  SimRunner& operator=(const SimRunner&) = delete;

  // Queues the intent; returns its ticket (see done()).
  std::uint64_t post(SimIntent intent);
  void stop();
  // The panel as of the last intent carried out; `paying` as the caller knows it.
  SimPanelView view(bool paying) const;
  // How many intents were carried out, and what the last one's problem was ("" none).
  std::uint64_t done() const;
  std::string lastProblem() const;

 private:
  void run(const SimIntent& intent);

  Simulation& m_simulation;
  OpenUrl m_openUrl;
  std::function<void()> m_changed;
  std::vector<std::string> m_cards;
  mutable std::mutex m_mutex;
  std::optional<std::string> m_inserted;
  bool m_networkUp = true;
  std::int64_t m_minutesAhead = 0;
  std::string m_status;
  std::string m_problem;
  std::uint64_t m_posted = 0;
  std::uint64_t m_done = 0;
  platform::WorkerThread m_worker{{platform::WorkerOptions::AtStop::Drop, 0, "simulation"}};
};

}  // namespace kiosk::sim
