#include "kiosk/runtime.hpp"

#include "platform/overloaded.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace kiosk::app {

namespace {

constexpr std::chrono::milliseconds kTick{200};


}  // namespace

std::string describe(const Event& event) {
  return std::visit(
      Overloaded{
          [](const event::CardInserted&) -> std::string { return "card inserted"; },
          [](const event::CardRemoved&) -> std::string { return "card removed"; },
          [](const event::CardRead& e) -> std::string { return "card read " + e.cardNumber; },
          [](const event::CardFailed& e) -> std::string {
            return "card failed " + std::to_string(static_cast<int>(e.fault));
          },
          [](const event::AccountLoaded& e) -> std::string {
            return "account loaded" + std::string(e.offline ? " offline" : "") + " balance " +
                   formatMoney(e.account.balanceMinor);
          },
          [](const event::PendingWrite& e) -> std::string { return "pending write " + e.orderId; },
          [](const event::OrderCreated& e) -> std::string {
            return "order created " + e.pay.orderId + " " + formatMoney(e.pay.amountMinor);
          },
          [](const event::OrderFailed& e) -> std::string {
            return std::string("order failed ") + (e.fault == CloudFault::Network ? "network" : "rejected");
          },
          [](const event::OrderPaid& e) -> std::string { return "order paid " + e.orderId; },
          [](const event::OrderDeclined& e) -> std::string { return "order declined " + e.orderId; },
          [](const event::OrderExpired& e) -> std::string { return "order expired " + e.orderId; },
          [](const event::OrderCancelled& e) -> std::string { return "order cancelled " + e.orderId; },
          [](const event::OrderRefunded& e) -> std::string { return "order refunded " + e.orderId; },
          [](const event::OrderContact& e) -> std::string {
            return std::string(e.reachable ? "cloud reachable again for " : "cloud unreachable for ") + e.orderId;
          },
          [](const event::OrderUnconfirmed& e) -> std::string { return "order unconfirmed " + e.orderId; },
          [](const event::WriteProgress& e) -> std::string {
            return "write progress " + std::to_string(e.step) + "/" + std::to_string(e.steps);
          },
          [](const event::WriteDone& e) -> std::string {
            return "write done credit " + formatMoney(e.done.creditMinor);
          },
          [](const event::WriteFailed&) -> std::string { return "write failed"; },
          [](const event::Input& e) -> std::string {
            return "input " + std::to_string(static_cast<int>(e.intent.kind)) + " " +
                   std::to_string(e.intent.value);
          },
          [](const event::Tick&) -> std::string { return "tick"; },
          [](const event::ServiceFault& e) -> std::string { return "service fault " + e.reasonKey; },
          [](const event::ServiceRestored&) -> std::string { return "service restored"; },
          [](const event::ConfigLoaded& e) -> std::string {
            return "config loaded " + e.kioskId + " " + std::to_string(e.staff.size()) + " staff";
          },
          [](const event::DashboardLoaded&) -> std::string { return "dashboard loaded"; },
          [](const event::ReaderTested& e) -> std::string {
            return "reader tested: " + (e.result.problemKey.empty() ? "card read" : e.result.problemKey);
          },
          [](const event::PinChecked& e) -> std::string {
            return e.staffId.empty() ? "staff PIN refused" : "staff PIN accepted";
          },
          [](const event::RestartReady&) -> std::string { return "restart ready"; },
      },
      event);
}

Result<std::unique_ptr<Runtime>, std::string> Runtime::create(RuntimeOptions options) {
  std::unique_ptr<Runtime> runtime(new Runtime(std::move(options)));
  auto& o = runtime->m_options;
  if (o.kioskId.empty() || o.secret.empty()) return fail(std::string("kiosk id and secret are required"));
  payments::CurlOptions curl;
  curl.baseUrl = o.cloudUrl;
  curl.caFile = o.caFile;
  curl.pinnedPublicKey = o.pinnedPublicKey;
  auto transport = payments::CurlTransport::create(curl);
  if (!transport) return fail(transport.error());
  runtime->m_transport = std::move(*transport);
  runtime->m_client = std::make_unique<payments::CloudClient>(
      *runtime->m_transport, payments::RequestSigner(o.kioskId, o.secret, *runtime->m_clock));

  auto issuer = card::EcKey::loadPem(o.issuerKey);
  if (!issuer) return fail("cannot read the issuer key " + o.issuerKey.string());
  payments::Journal::Options journalOptions;
  journalOptions.crashAfter = o.crashAfter;
  auto journal = payments::Journal::open(o.journal, journalOptions);
  if (!journal) {
    return fail("cannot open the journal " + o.journal.string() + ": " +
                std::string(payments::describe(journal.error())));
  }
  runtime->m_journal = std::move(*journal);
  ReaderCardPort::Connect connect = o.connect;
  if (!connect && !o.reader.empty()) connect = ReaderCardPort::pcsc(o.reader);
  if (!connect) {
    // No reader named: the one the reader watch follows (the first pcscd lists).
    connect = [self = runtime.get()]() -> Result<std::unique_ptr<card::CardChannel>, card::CardError> {
      const std::string reader = self->reader();
      if (reader.empty()) return fail(card::CardError::NoReader);
      return ReaderCardPort::pcsc(reader)();
    };
  }
  runtime->m_port = std::make_unique<ReaderCardPort>(std::move(connect), issuer->publicOnly());
  runtime->m_engine = std::make_unique<payments::Engine>(
      *runtime->m_journal, *runtime->m_client, *runtime->m_port, *runtime->m_clock, o.engine,
      EngineBridge::sinkInto(runtime->m_queue));
  runtime->m_bridge = std::make_unique<EngineBridge>(*runtime->m_engine);
  runtime->m_maintenance = std::make_unique<MaintenanceWorker>(MaintenanceParts{
      *runtime->m_engine, *runtime->m_journal, *runtime->m_port, runtime->m_queue, o.journal,
      [self = runtime.get()] { return self->reader(); }, o.simulated});
  runtime->m_configWatch = std::make_unique<ConfigWatch>(*runtime->m_engine, runtime->m_queue);
  if (!o.connect) {
    runtime->m_watch =
        std::make_unique<ReaderWatch>(o.reader, *runtime->m_port, *runtime->m_engine, runtime->m_queue);
  }
  return runtime;
}

Runtime::Runtime(RuntimeOptions options)
    : m_options(std::move(options)), m_flow(m_options.flow, m_options.kioskId) {
  if (m_options.clock != nullptr) m_clock = m_options.clock;
}

Runtime::~Runtime() { stop(); }

void Runtime::start() {
  m_engine->start();
  m_configWatch->start();
  if (m_watch) m_watch->start();
}

void Runtime::stop() {
  if (m_watch) m_watch->stop();
  if (m_configWatch) m_configWatch->stop();
  // Before the engine: a queued staff action or dashboard read uses it.
  if (m_maintenance) m_maintenance->stop();
  if (m_engine) m_engine->stop();
}

bool Runtime::syncAndWait(std::chrono::milliseconds timeout) {
  const bool synced = m_engine->syncAndWait(timeout);
  m_configWatch->checkNow();
  return synced;
}

payments::EngineStatus Runtime::status() { return m_engine->status(); }

void Runtime::staffAction(const std::string& action, const std::string& detailJson) {
  m_engine->staffAction(action, detailJson);
}

std::optional<bool> Runtime::configBlocks(const std::string& cardNumber) {
  const auto config = m_engine->config();
  if (!config) return std::nullopt;
  return config->blocked(cardNumber);
}

std::optional<payments::WriteTiming> Runtime::lastWriteTiming() const {
  return m_engine->lastWriteTiming();
}

bool Runtime::waitMaintenance(std::chrono::milliseconds timeout) {
  return m_maintenance->waitIdle(timeout);
}

Millis Runtime::nowMillis() const {
  if (m_options.monotonic) return m_options.monotonic();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               m_epoch)
      .count();
}

void Runtime::handle(const Event& event) {
  if (!std::holds_alternative<event::Tick>(event) && m_trace) m_trace("event " + describe(event));
  const auto commands = m_flow.handle(event, nowMillis());
  if (const auto* paying = std::get_if<screen::Paying>(&m_flow.state().screen)) {
    m_lastPay = paying->view;
  }
  const std::string now = screen();
  if (now != m_lastScreen) {
    m_lastScreen = now;
    if (m_trace) m_trace("screen " + now);
    spdlog::info("kiosk: screen {}", now);
  }
  execute(commands);
}

void Runtime::execute(const std::vector<Command>& commands) {
  for (const auto& command : commands) {
    if (!m_maintenance->execute(command)) m_bridge->execute(command);
  }
}

void Runtime::feed(const Event& event) { handle(event); }

void Runtime::cardInserted() {
  m_port->cardInserted();
  m_engine->cardInserted();
  m_queue.push(event::CardInserted{});
}

void Runtime::cardRemoved() {
  m_port->cardRemoved();
  m_engine->cardRemoved();
  m_queue.push(event::CardRemoved{});
}

void Runtime::press(Intent::Kind kind, int value) { handle(event::Input{Intent{kind, value}}); }

bool Runtime::pumpUntil(const std::function<bool(const FlowState&)>& done,
                        std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done(m_flow.state())) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (auto event = m_queue.pop(std::min(left, kTick))) handle(*event);
    if (nowMillis() - m_lastTick >= kTick.count()) {
      m_lastTick = nowMillis();
      handle(event::Tick{});
    }
  }
}

bool Runtime::waitScreen(const std::string& name, std::chrono::milliseconds timeout) {
  return pumpUntil([&](const FlowState& state) { return screenName(state.screen) == name; }, timeout);
}

bool Runtime::poll() {
  bool changed = false;
  for (auto& event : m_queue.drain()) {
    handle(event);
    changed = true;
  }
  if (const auto due = tickDue(); due && due->count() <= 0) {
    m_lastTick = nowMillis();
    handle(event::Tick{});
    changed = true;  // countdowns and timeouts
  }
  return changed;
}

std::optional<std::chrono::milliseconds> Runtime::tickDue() const {
  if (std::holds_alternative<screen::Attract>(m_flow.state().screen)) return std::nullopt;
  return std::chrono::milliseconds(std::max<Millis>(0, m_lastTick + kTick.count() - nowMillis()));
}

void Runtime::pumpFor(std::chrono::milliseconds duration) {
  (void)pumpUntil([](const FlowState&) { return false; }, duration);
}

}  // namespace kiosk::app
