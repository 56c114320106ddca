#include "kiosk/maintenance.hpp"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <chrono>
#include <filesystem>

#include "platform/log.hpp"
#include "protocol/masking.hpp"
#include "platform/overloaded.hpp"

namespace kiosk::app {

namespace {

using namespace std::chrono_literals;

// The restart's journaled action reaches the cloud if it can within this; the window keeps
// drawing meanwhile.
constexpr std::chrono::seconds kRestartSync{3};

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

// Why the reader test read no card, as the dashboard words it.
std::string readerTestProblem(card::CardError error) {
  using card::CardError;
  switch (error) {
    case CardError::NoCard: return "maint.test.problem.no_card";
    case CardError::NoReader:
    case CardError::NoService: return "maint.test.problem.no_reader";
    case CardError::Removed: return "maint.test.problem.removed";
    case CardError::ForeignCard: return "maint.test.problem.foreign";
    case CardError::NotAuthentic: return "maint.test.problem.not_authentic";
    case CardError::BadData: return "maint.test.problem.bad_data";
    default: return "maint.test.problem.unreadable";
  }
}

}  // namespace

std::vector<StaffCredential> staffOf(const payments::KioskConfig& config) {
  std::vector<StaffCredential> staff;
  for (const auto& member : config.staff) {
    staff.push_back({member.id, member.name, member.pinSalt, member.pinHash,
                     static_cast<int>(member.pinIterations), member.cardNumber});
  }
  return staff;
}

MaintenanceWorker::MaintenanceWorker(MaintenanceParts parts) : m_parts(std::move(parts)) {}

MaintenanceWorker::~MaintenanceWorker() { stop(); }

void MaintenanceWorker::stop() { m_worker.stop(); }

bool MaintenanceWorker::waitIdle(std::chrono::milliseconds timeout) { return m_worker.waitIdle(timeout); }

bool MaintenanceWorker::execute(const Command& command) {
  auto& engine = m_parts.engine;
  auto& queue = m_parts.queue;
  return std::visit(
      Overloaded{
          [&](const command::StaffAction& c) {
            m_worker.post([&engine, c] { engine.staffAction(c.action, c.detailJson); });
            return true;
          },
          [&](const command::Note& c) {
            // Through the worker, so the line follows the actions queued before it.
            m_worker.post([c] {
              if (c.warning) {
                spdlog::warn("maintenance: {}", c.line);
              } else {
                spdlog::info("maintenance: {}", c.line);
              }
            });
            return true;
          },
          [&](const command::RefreshDashboard&) {
            m_worker.post([this, &queue] { queue.push(event::DashboardLoaded{gather()}); });
            return true;
          },
          [&](const command::CheckPin& c) {
            m_worker.post([c, &queue] {
              queue.push(event::PinChecked{matchPin(c.pin, c.staff).value_or(std::string{})});
            });
            return true;
          },
          [&](const command::TestReader& c) {
            m_worker.post([this, &queue, c] { queue.push(event::ReaderTested{testReader(), c.test}); });
            return true;
          },
          [&](const command::SyncNow&) {
            m_worker.post([&engine] { engine.syncNow(); });
            return true;
          },
          [&](const command::RecheckTransactions&) {
            m_worker.post([&engine] { engine.recheckUnfinished(); });
            return true;
          },
          [&](const command::PrepareRestart&) {
            m_worker.post([&engine, &queue] {
              (void)engine.syncAndWait(kRestartSync);
              queue.push(event::RestartReady{});
            });
            return true;
          },
          [](const auto&) { return false; },
      },
      command);
}

ReaderTestView MaintenanceWorker::testReader() {
  // Waits for the port while the engine writes a card: this thread waits, not the window.
  auto facts = m_parts.port.readAllFiles();
  ReaderTestView view;
  if (!facts) {
    view.problemKey = readerTestProblem(facts.error());
    spdlog::debug("maintenance: reader test: no card read ({})", card::describe(facts.error()));
    return view;
  }
  const auto& id = facts->id;
  view.cardNumber = facts->cardNumber();
  view.staffCard = id.kind == card::CardKind::Staff;
  view.utility = id.utility == card::Utility::Water ? Utility::Water : Utility::Electricity;
  view.meterNumber = facts->meterNumber();
  view.accountNumber = id.accountNumber;
  for (const auto& token : facts->credits) view.tokens.push_back({token.sequence, token.amount});
  view.freeRecords = static_cast<int>(facts->freeRecords);
  if (const auto& meter = facts->meterReturn) {
    view.meter = MeterReport{meter->lastSequence, meter->remainingCredit, meter->consumption,
                             meter->timestamp,    meter->cutOff(),       meter->tamper(),
                             meter->lowBalance()};
  }
  if (const auto& params = facts->params) {
    TariffOnCard tariff;
    tariff.priceMinorPerUnit = params->pricePerUnit;
    for (std::size_t i = 0; i < 3; ++i) tariff.alarmsMinor[i] = params->alarmLevels[i];
    tariff.overdraftMinor = params->overdraftLimit;
    view.tariff = tariff;
  }
  // Debug, not info: the dashboard shows the last info lines, and the next staff member's
  // visit must not start with this one's result.
  spdlog::debug("maintenance: reader test: card {} read and authenticated, {} token(s) waiting",
               protocol::maskCardNumber(view.cardNumber), view.tokens.size());
  return view;
}

MaintenanceView MaintenanceWorker::gather() {
  auto& engine = m_parts.engine;
  const auto status = engine.status();
  MaintenanceView view;
  const std::string reader = m_parts.reader ? m_parts.reader() : std::string{};
  if (m_parts.simulated && reader.empty()) {
    view.health.push_back({"maint.reader", true, "maint.detail.simulated", {}});
    view.health.push_back({"maint.pcscd", true, "maint.detail.not_used", {}});
  } else if (reader.empty()) {
    view.health.push_back({"maint.reader", false, "maint.detail.no_reader", {}});
    view.health.push_back({"maint.pcscd", false, "maint.detail.no_reader_listed", {}});
  } else {
    view.health.push_back({"maint.reader", true, "maint.detail.reader_name", {reader}});
    view.health.push_back({"maint.pcscd", true, "maint.detail.running", {}});
  }
  view.health.push_back({"maint.network", status.online,
                         status.online ? "maint.detail.connected" : "maint.detail.unreachable", {}});
  view.health.push_back({"maint.cloud", status.online && status.configLoaded,
                         status.configLoaded ? "maint.detail.config_loaded" : "maint.detail.no_config",
                         {}});
  struct statvfs disk {};
  const auto dir = std::filesystem::absolute(m_parts.journalPath).parent_path();
  if (::statvfs(dir.c_str(), &disk) == 0 && disk.f_blocks > 0) {
    const auto freePercent = static_cast<int>(100 * disk.f_bavail / disk.f_blocks);
    view.health.push_back(
        {"maint.disk", freePercent >= 5, "maint.detail.disk_free", {std::to_string(freePercent)}});
  } else {
    view.health.push_back({"maint.disk", false, "maint.detail.disk_unknown", {dir.string()}});
  }
  view.health.push_back({"maint.journal", status.journalOk,
                         status.journalOk ? "maint.detail.journal_ok" : "maint.detail.journal_failing",
                         {}});
  view.outboxBacklog = static_cast<int>(status.outboxPending);
  if (auto open = m_parts.journal.unfinished()) {
    for (const auto& tx : *open) {
      view.attention.push_back({tx.orderId, tx.cardNumber, tx.amount, stateKey(tx.step)});
    }
  }
  view.recentLogs = platform::recentLog(8);
  view.lastSync = status.lastSync;
  view.configVersion = status.configEtag.empty() ? "-" : status.configEtag;
  return view;
}

}  // namespace kiosk::app
