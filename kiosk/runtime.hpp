#pragma once
// The kiosk's working parts put together: journal, cloud client, card port, transaction
// engine, reader watch, maintenance worker and the flow, with the loop that feeds the workers'
// results to the flow and the flow's commands to the workers. The headless driver and the
// integration tests run it; the screens draw its flow state. It hands out no part: what a
// caller needs is a command, an event, or one of the narrow queries below.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "kiosk/card_port.hpp"
#include "kiosk/config_watch.hpp"
#include "kiosk/engine_bridge.hpp"
#include "kiosk/event_queue.hpp"
#include "kiosk/flow.hpp"
#include "kiosk/maintenance.hpp"
#include "payments/cloud_client.hpp"
#include "payments/curl_transport.hpp"
#include "payments/engine.hpp"
#include "payments/journal.hpp"
#include "platform/clock.hpp"

namespace kiosk::app {

struct RuntimeOptions {
  std::string cloudUrl;         // https://... (http:// only on loopback)
  std::string kioskId;
  std::string secret;           // the kiosk's API secret
  std::string caFile;           // the cloud's CA (PEM); empty: the system's
  std::string pinnedPublicKey;  // "sha256//..." ; empty: no pinning
  std::filesystem::path journal;
  std::filesystem::path issuerKey;  // the issuer's public (or private) key, PEM
  std::string reader;           // PC/SC reader name; empty: the first one
  std::string crashAfter;       // test hook: SIGKILL right after this journal step
  payments::EngineOptions engine;
  FlowConfig flow;
  // A channel other than PC/SC (simulation, tests); empty: PC/SC on `reader`, followed by a
  // reader watch. With a channel, whoever owns it reports insertions (cardInserted()).
  ReaderCardPort::Connect connect;
  // Time for signatures, the journal and the engine; null: the system clock. Simulation mode
  // shares one with its embedded cloud so both advance together.
  const platform::Clock* clock = nullptr;
  // The flow's monotonic milliseconds; null: a steady clock. Tests move it to pass a lockout.
  std::function<Millis()> monotonic;
  bool simulated = false;  // simulation's reader: the dashboard checks no pcscd
};

class Runtime {
 public:
  // Startup errors (bad URL, unreadable key, journal that cannot open) are described.
  static Result<std::unique_ptr<Runtime>, std::string> create(RuntimeOptions options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Starts the engine (resuming unfinished transactions) and, with PC/SC, the reader watch.
  void start();
  void stop();

  // Feeds an event to the flow now (a button press, a test's card event) and runs the
  // commands it gives.
  void feed(const Event& event);
  void press(Intent::Kind kind, int value = 0);
  // Runs the loop: queued events to the flow, commands to the engine, a tick every 200 ms,
  // until `done` holds (checked after every event) or the time is up; returns done's verdict.
  bool pumpUntil(const std::function<bool(const FlowState&)>& done, std::chrono::milliseconds timeout);
  bool waitScreen(const std::string& name, std::chrono::milliseconds timeout);
  // For a window's loop: handles the events queued so far, and a tick when one is due, without
  // waiting. True when what is shown may have changed.
  bool poll();
  // How long a window may sleep before a tick matters (a timeout, a countdown); nullopt on a
  // screen that changes only on events (attract).
  std::optional<std::chrono::milliseconds> tickDue() const;
  void pumpFor(std::chrono::milliseconds duration);

  const FlowState& state() const { return m_flow.state(); }
  std::string screen() const { return screenName(m_flow.state().screen); }
  // The last pay screen shown (for the simulated payer).
  std::optional<PayView> lastPay() const { return m_lastPay; }

  const std::filesystem::path& journalPath() const { return m_options.journal; }
  // Where workers post the flow's events (the window listens on it to wake up).
  EventQueue& queue() { return m_queue; }

  // ---- support: blocking, for the headless driver, tests and benchmarks; never from a frame
  // Runs sync cycles until one that started after this call emptied the outbox (see Engine).
  bool syncAndWait(std::chrono::milliseconds timeout);
  payments::EngineStatus status();
  void staffAction(const std::string& action, const std::string& detailJson);
  // Whether the config in use blocks the card; nullopt while there is no config.
  std::optional<bool> configBlocks(const std::string& cardNumber);
  std::optional<payments::WriteTiming> lastWriteTiming() const;
  // Waits until the maintenance commands given so far are done; false on timeout.
  bool waitMaintenance(std::chrono::milliseconds timeout);
  // The PC/SC reader followed (empty until the watch found one, or without PC/SC).
  std::string reader() const { return m_watch ? m_watch->reader() : std::string{}; }
  // A card was put into or taken out of a reader that is not watched through PC/SC.
  void cardInserted();
  void cardRemoved();
  // Called with a line for every event and every screen change.
  void setTrace(std::function<void(const std::string&)> trace) { m_trace = std::move(trace); }

 private:
  explicit Runtime(RuntimeOptions options);
  Millis nowMillis() const;
  void handle(const Event& event);
  void execute(const std::vector<Command>& commands);

  RuntimeOptions m_options;
  platform::SystemClock m_systemClock;
  const platform::Clock* m_clock = &m_systemClock;
  std::chrono::steady_clock::time_point m_epoch = std::chrono::steady_clock::now();
  std::unique_ptr<payments::Journal> m_journal;
  std::unique_ptr<payments::CurlTransport> m_transport;
  std::unique_ptr<payments::CloudClient> m_client;
  std::unique_ptr<ReaderCardPort> m_port;
  EventQueue m_queue;
  std::unique_ptr<payments::Engine> m_engine;
  std::unique_ptr<EngineBridge> m_bridge;
  std::unique_ptr<MaintenanceWorker> m_maintenance;
  std::unique_ptr<ConfigWatch> m_configWatch;
  std::unique_ptr<ReaderWatch> m_watch;
  Flow m_flow;
  std::optional<PayView> m_lastPay;
  std::string m_lastScreen;
  Millis m_lastTick = 0;
  std::function<void(const std::string&)> m_trace;
};

// "card inserted", "order paid ord_...", for traces.
std::string describe(const Event& event);

}  // namespace kiosk::app
