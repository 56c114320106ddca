// The engine's lifecycle (start, stop, idle), its status, and what every part of it shares:
// notices, journal faults, the cloud's reachability, active transactions, the card in the reader.
#include "payments/engine_internal.hpp"

#include <spdlog/spdlog.h>

#include <thread>

namespace kiosk::payments {

using namespace engine_detail;

namespace engine_detail {

std::optional<card::CreditToken> tokenOf(const std::string& hex) {
  if (hex.empty()) return std::nullopt;
  auto bytes = kiosk::fromHex(hex);
  if (!bytes) return std::nullopt;
  auto token = card::decodeToken(*bytes);
  if (!token) return std::nullopt;
  return *token;
}

std::string failureJson(const PayFailure& failure) {
  json out{{"error", describe(failure.error)}};
  if (!failure.detail.empty()) out["detail"] = failure.detail;
  if (failure.httpStatus != 0) out["http_status"] = failure.httpStatus;
  if (!failure.code.empty()) out["code"] = failure.code;
  return out.dump();
}

}  // namespace engine_detail


Engine::Engine(Journal& journal, CloudClient& cloud, CardPort& card, const platform::Clock& clock,
               EngineOptions options, Sink sink)
    : m_journal(journal),
      m_cloud(cloud),
      m_card(card),
      m_clock(clock),
      m_options(std::move(options)),
      m_sink(std::move(sink)) {}

Engine::~Engine() { stop(); }

platform::WorkerOptions Engine::dropOnStop(const char* name) {
  platform::WorkerOptions options;
  options.atStop = platform::WorkerOptions::AtStop::Drop;
  options.name = name;
  return options;
}

void Engine::post(const Notice& notice) {
  spdlog::debug("engine: {}", describe(notice));
  if (m_sink) m_sink(notice);
}

bool Engine::journalOk(const JournalError& error, const char* what) {
  if (error == JournalError::Closed || error == JournalError::NotFound) {
    // The transaction ended meanwhile (another worker settled it): nothing is broken.
    spdlog::info("engine: {}: {}", what, describe(error));
    return false;
  }
  spdlog::error("engine: journal failed while {}: {}", what, describe(error));
  bool wasOk = false;
  {
    std::lock_guard lock(m_mutex);
    wasOk = m_journalOk;
    m_journalOk = false;
  }
  // Without the journal nothing may happen that it could not record: out of service until it
  // works again (the sync loop keeps trying).
  if (wasOk) post(notice::ServiceFault{"oos.disk"});
  return false;
}

void Engine::event(const std::string& type, const std::string& data) {
  if (auto added = m_journal.event(type, data, now()); !added) {
    journalOk(added.error(), type.c_str());
  }
}

void Engine::noteCloud(bool reached) {
  std::lock_guard lock(m_mutex);
  if (m_online != reached) spdlog::info("engine: cloud {}", reached ? "reachable" : "unreachable");
  m_online = reached;
}

// ---------------------------------------------------------------------------------------
// Lifecycle

void Engine::start() {
  {
    std::lock_guard lock(m_mutex);
    if (m_started) return;
    m_started = true;
    m_stopping = false;
  }
  if (auto cached = m_journal.loadConfig(); cached && cached->has_value()) {
    auto config = decodeKioskConfig((*cached)->first);
    if (config) {
      std::lock_guard lock(m_mutex);
      m_config = std::move(*config);
      m_configEtag = (*cached)->second;
    } else {
      spdlog::warn("engine: the kept config does not decode: {}", config.error().detail);
    }
  }
  if (auto open = m_journal.unfinished(); open) {
    spdlog::info("engine: {} unfinished transaction(s) to resume", open->size());
  }
  m_syncWorker.post([this] { syncLoop(); });
}

void Engine::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    if (m_waiting) m_waiting->abort = true;
  }
  m_changed.notify_all();
  m_cardWorker.stop();
  m_orderWorker.stop();
  m_cloudWorker.stop();
  m_syncWorker.stop();
}

bool Engine::waitIdle(std::chrono::milliseconds timeout) {
  const auto deadline = Steady::now() + timeout;
  for (;;) {
    const bool idle = m_cardWorker.idle() && m_orderWorker.idle() && m_cloudWorker.idle();
    if (idle) return true;
    if (Steady::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Engine::syncNow() {
  {
    std::lock_guard lock(m_mutex);
    m_syncWake = true;
  }
  m_changed.notify_all();
}

void Engine::recheckUnfinished() {
  std::lock_guard lock(m_mutex);
  m_recheckWanted = true;
  m_syncWake = true;
  m_changed.notify_all();
}

bool Engine::syncAndWait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  // A cycle running now may have started before the caller's request: then the next one.
  const std::uint64_t target = m_syncCycles + (m_syncRunning ? 2 : 1);
  m_syncWake = true;
  m_changed.notify_all();
  // A failed cycle backs off (1 s, 2 s, ...) and tries again: the wait spans those retries.
  m_changed.wait_for(lock, timeout, [&] { return m_lastCleanCycle >= target || m_stopping; });
  return m_lastCleanCycle >= target;
}

EngineStatus Engine::status() {
  EngineStatus out;
  {
    std::lock_guard lock(m_mutex);
    out.online = m_online;
    out.journalOk = m_journalOk;
    out.configLoaded = m_config.has_value();
    if (m_config) out.configEtag = m_configEtag;
    out.lastSync = m_lastCleanAt;
  }
  auto acked = m_journal.acknowledged();
  auto last = m_journal.lastSequence();
  if (acked && last) out.outboxPending = *last - *acked;
  if (auto open = m_journal.unfinished()) out.openTransactions = open->size();
  return out;
}

std::optional<WriteTiming> Engine::lastWriteTiming() const {
  std::lock_guard lock(m_mutex);
  return m_lastTiming;
}

std::string Engine::receiptUrl(const std::string& orderId) const {
  std::lock_guard lock(m_mutex);
  return m_config && !m_config->receiptBaseUrl.empty() ? m_config->receiptBaseUrl + orderId : std::string{};
}

std::optional<KioskConfig> Engine::config() const {
  std::lock_guard lock(m_mutex);
  return m_config;
}

// Counted: the payment thread and the write both hold a paid transaction for a while, and
// the first to let go must not expose the other's to the sync loop.
void Engine::activate(std::int64_t txId) {
  std::lock_guard lock(m_mutex);
  ++m_active[txId];
}

void Engine::deactivate(std::int64_t txId) {
  std::lock_guard lock(m_mutex);
  auto found = m_active.find(txId);
  if (found != m_active.end() && --found->second <= 0) m_active.erase(found);
}

bool Engine::isActive(std::int64_t txId) const {
  std::lock_guard lock(m_mutex);
  return m_active.count(txId) != 0;
}

bool Engine::cardChanged(std::uint64_t generation) const {
  std::lock_guard lock(m_mutex);
  return m_generation != generation || m_stopping;
}

// Sleeps, but wakes early when the card leaves or the engine stops; false then.
bool Engine::sleepFor(std::chrono::milliseconds delay, std::uint64_t generation) {
  std::unique_lock lock(m_mutex);
  return !m_changed.wait_for(lock, delay,
                             [&] { return m_generation != generation || m_stopping; });
}

// ---------------------------------------------------------------------------------------
// The reader

void Engine::cardInserted() {
  {
    std::lock_guard lock(m_mutex);
    ++m_generation;
    m_facts.reset();
    m_pendingCredit.clear();
  }
  m_changed.notify_all();
}

void Engine::cardRemoved() {
  {
    std::lock_guard lock(m_mutex);
    ++m_generation;
    m_facts.reset();
    m_pendingCredit.clear();
  }
  m_changed.notify_all();
}

void Engine::staffAction(const std::string& action, const std::string& detailJson) {
  auto detail = json::parse(detailJson, nullptr, false);
  if (detail.is_discarded() || !detail.is_object()) detail = json::object();
  detail["action"] = action;
  event("staff.action", detail.dump());
}
}  // namespace kiosk::payments
