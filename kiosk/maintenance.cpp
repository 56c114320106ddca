#include "kiosk/maintenance.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <chrono>
#include <filesystem>

#include "platform/log.hpp"

namespace kiosk::app {

namespace {

using Kind = Intent::Kind;
using namespace std::chrono_literals;

std::vector<StaffCredential> staffOf(const std::optional<payments::KioskConfig>& config) {
  std::vector<StaffCredential> staff;
  if (!config) return staff;
  for (const auto& member : config->staff) {
    staff.push_back({member.id, member.name, member.pinSalt, member.pinHash,
                     static_cast<int>(member.pinIterations), member.cardNumber});
  }
  return staff;
}

std::string stateKey(payments::Step step) {
  switch (step) {
    case payments::Step::Paid:
    case payments::Step::ScriptFetched:
    case payments::Step::ApduSent:
    case payments::Step::CardPulled:
    case payments::Step::ReadBack: return "maint.state.paid_not_written";
    default: return "maint.state.unsettled";
  }
}

}  // namespace

Maintenance::Maintenance(Runtime& runtime, bool simulated, PinGateConfig gate)
    : m_runtime(runtime), m_simulated(simulated), m_gate(gate) {}

std::string Maintenance::screenName() const {
  switch (m_mode) {
    case Mode::Pin: return "pin";
    case Mode::Dashboard: return "maintenance";
    case Mode::Off: break;
  }
  return {};
}

std::vector<StaffCredential> Maintenance::staff() const { return staffOf(m_runtime.engine().config()); }

void Maintenance::openPinPad() {
  m_mode = Mode::Pin;
  m_pin.clear();
  m_rejected = false;
  spdlog::info("maintenance: PIN pad opened by the hidden gesture");
}

bool Maintenance::noticeCard(const std::string& cardNumber) {
  if (cardNumber.empty()) {
    m_staffCardSeen.clear();
    return false;
  }
  if (m_mode == Mode::Dashboard || cardNumber == m_staffCardSeen) return false;
  auto member = staffForCard(staff(), cardNumber);
  if (!member) return false;
  m_staffCardSeen = cardNumber;
  enter(*member, "card");
  return true;
}

PinView Maintenance::pinView(Millis now) const {
  PinView view;
  view.digits = static_cast<int>(m_pin.size());
  view.rejected = m_rejected;
  if (m_gate.lockedOut(now)) {
    view.lockedSeconds = static_cast<int>((m_gate.lockedUntil() - now + 999) / 1000);
  }
  return view;
}

const MaintenanceView& Maintenance::view(Millis now) {
  if (!m_viewAt || now - *m_viewAt >= 1000) refresh(now);
  return m_view;
}

bool Maintenance::handle(const Intent& intent, Millis now) {
  if (m_mode == Mode::Pin) {
    switch (intent.kind) {
      case Kind::Digit:
        if (m_pin.size() < 12) m_pin.push_back(static_cast<char>('0' + intent.value));
        m_rejected = false;
        break;
      case Kind::Backspace:
        if (!m_pin.empty()) m_pin.pop_back();
        break;
      case Kind::Clear: m_pin.clear(); break;
      case Kind::Back:
      case Kind::ExitMaintenance:
        m_mode = Mode::Off;
        m_pin.clear();
        break;
      case Kind::SignIn: signIn(now); break;
      default: break;
    }
    return false;
  }
  if (m_mode != Mode::Dashboard) return false;
  auto& engine = m_runtime.engine();
  switch (intent.kind) {
    case Kind::SyncNow:
      engine.staffAction("sync_now", staffDetail());
      engine.syncNow();
      spdlog::info("maintenance: sync requested");
      break;
    case Kind::ReaderTest: readerTest(); break;
    case Kind::Resolve: {
      const auto index = static_cast<std::size_t>(intent.value);
      if (index < m_view.attention.size()) {
        auto detail = nlohmann::json::parse(staffDetail());
        detail["order_id"] = m_view.attention[index].orderId;
        engine.staffAction("recheck_transaction", detail.dump());
        engine.recheckUnfinished();
        spdlog::info("maintenance: asked the cloud about {}", m_view.attention[index].orderId);
      }
      break;
    }
    case Kind::Restart:
      engine.staffAction("restart", staffDetail());
      (void)engine.syncAndWait(3s);  // the restart reaches the cloud if it can
      return true;
    case Kind::ExitMaintenance:
    case Kind::Back:
      engine.staffAction("maintenance_exit", staffDetail());
      spdlog::info("maintenance: {} left", m_staffName);
      m_mode = Mode::Off;
      break;
    default: break;
  }
  m_viewAt.reset();  // show the action's effect now
  return false;
}

std::string Maintenance::staffDetail() const {
  return nlohmann::json{{"staff_id", m_staffId}, {"via", m_via}}.dump();
}

void Maintenance::enter(const StaffCredential& member, const std::string& via) {
  m_mode = Mode::Dashboard;
  m_staffId = member.id;
  m_staffName = member.name;
  m_via = via;
  m_viewAt.reset();
  m_runtime.engine().staffAction("maintenance_enter", staffDetail());
  spdlog::info("maintenance: {} signed in by {}", member.name, via);
}

void Maintenance::signIn(Millis now) {
  const auto result = m_gate.attempt(m_pin, staff(), now);
  m_pin.clear();
  if (result.verdict == PinGate::Verdict::Accepted) {
    for (const auto& member : staff()) {
      if (member.id == result.staffId) enter(member, "pin");
    }
    return;
  }
  m_rejected = true;
  m_runtime.engine().staffAction(
      "pin_rejected", nlohmann::json{{"failures", m_gate.failures()},
                                     {"locked_out", result.verdict == PinGate::Verdict::LockedOut}}
                          .dump());
  spdlog::warn("maintenance: staff PIN refused ({} failures)", m_gate.failures());
}

void Maintenance::readerTest() {
  m_runtime.engine().staffAction("reader_test", staffDetail());
  auto facts = m_runtime.port().read();
  if (!facts) {
    m_readerTest = std::string("no card read: ") + std::string(card::describe(facts.error()));
  } else {
    m_readerTest = "card " + facts->cardNumber() + " (meter " + facts->meterNumber() + ") authentic, " +
                   std::to_string(facts->credits.size()) + " token(s) for the meter, " +
                   std::to_string(facts->freeRecords) + " free record(s)" +
                   (facts->meterReturn ? ", meter reading " + formatMoney(facts->meterReturn->remainingCredit)
                                       : std::string{});
  }
  spdlog::info("maintenance: reader test: {}", m_readerTest);
}

void Maintenance::refresh(Millis now) {
  m_viewAt = now;
  auto& engine = m_runtime.engine();
  const auto status = engine.status();
  MaintenanceView view;
  view.staffName = m_staffName;
  const std::string reader = m_runtime.reader();
  if (m_simulated && reader.empty()) {
    view.health.push_back({"maint.reader", true, "simulated"});
    view.health.push_back({"maint.pcscd", true, "not used"});
  } else {
    view.health.push_back({"maint.reader", !reader.empty(), reader.empty() ? "none" : reader});
    view.health.push_back({"maint.pcscd", !reader.empty(), reader.empty() ? "no reader listed" : "ok"});
  }
  view.health.push_back({"maint.network", status.online, status.online ? "ok" : "unreachable"});
  view.health.push_back({"maint.cloud", status.online && status.configLoaded,
                         status.configLoaded ? "config loaded" : "no config"});
  struct statvfs disk {};
  const auto dir = std::filesystem::absolute(m_runtime.journalPath()).parent_path();
  if (::statvfs(dir.c_str(), &disk) == 0 && disk.f_blocks > 0) {
    const auto freePercent = static_cast<int>(100 * disk.f_bavail / disk.f_blocks);
    view.health.push_back({"maint.disk", freePercent >= 5, std::to_string(freePercent) + "% free"});
  } else {
    view.health.push_back({"maint.disk", false, "cannot stat " + dir.string()});
  }
  view.health.push_back({"maint.journal", status.journalOk, status.journalOk ? "ok" : "failing"});
  view.outboxBacklog = static_cast<int>(status.outboxPending);
  if (auto open = m_runtime.journal().unfinished()) {
    for (const auto& tx : *open) {
      view.attention.push_back({tx.orderId, tx.cardNumber, tx.amount, stateKey(tx.step)});
    }
  }
  view.recentLogs = platform::recentLog(8);
  if (!m_readerTest.empty()) view.recentLogs.push_back("reader test: " + m_readerTest);
  view.lastSync = status.lastSync;
  view.configVersion = status.configEtag.empty() ? "-" : status.configEtag;
  m_view = std::move(view);
}

}  // namespace kiosk::app
