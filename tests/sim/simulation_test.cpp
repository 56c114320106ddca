// Simulation mode as someone trying the kiosk meets it, without a window: the embedded cloud,
// the demo cards in the in-process reader, the cuttable network, the meters, and maintenance
// mode (PIN lockout, staff card, a stuck transaction resolved from the dashboard).

#include "kiosk/maintenance.hpp"
#include "kiosk/sim/simulation.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>

#include "card/profile.hpp"
#include "card/virtual_card.hpp"
#include "platform/temp_dir.hpp"

namespace kiosk::app {
namespace {

using namespace std::chrono_literals;
using Kind = Intent::Kind;

class SimulationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = platform::makeTempDir("kiosk-sim-test-");
    start();
  }
  void TearDown() override {
    stop();
    std::error_code ignored;
    if (!HasFailure()) std::filesystem::remove_all(m_dir, ignored);
  }
  void start(std::chrono::milliseconds syncInterval = 300ms) {
    sim::SimulationOptions options;
    options.stateDir = m_dir;
    auto made = sim::Simulation::create(options);
    ASSERT_TRUE(made) << made.error();
    simulation = std::move(*made);
    auto runtimeOptions = simulation->runtimeOptions();
    runtimeOptions.engine.syncInterval = syncInterval;
    runtimeOptions.engine.retryInitial = 100ms;
    runtimeOptions.engine.retryMax = 500ms;
    runtimeOptions.engine.longPoll = 3s;
    auto made2 = Runtime::create(runtimeOptions);
    ASSERT_TRUE(made2) << made2.error();
    runtime = std::move(*made2);
    simulation->attach(runtime.get());
    runtime->start();
    ASSERT_TRUE(runtime->engine().syncAndWait(10s));
  }
  void stop() {
    if (simulation) simulation->attach(nullptr);
    runtime.reset();
    simulation.reset();
  }
  std::string insert(const std::string& key) {
    const auto problem = simulation->insert(key);
    EXPECT_EQ(problem, "");
    return problem;
  }
  void pull() {
    simulation->pull();
    ASSERT_TRUE(runtime->waitScreen("attract", 10s)) << runtime->screen();
  }
  card::CardImage image(const std::string& key) {
    for (const auto& card : simulation->cards()) {
      if (card.key == key) {
        auto loaded = card::loadCardFile(card.file);
        if (loaded) return *loaded;
      }
    }
    ADD_FAILURE() << "no card file for " << key;
    return {};
  }
  // Top-up of `yuan` on the card in the reader, up to the pay screen.
  std::string order(int yuan) {
    EXPECT_TRUE(runtime->waitScreen("account", 10s)) << runtime->screen();
    runtime->press(Kind::TopUp);
    for (const char digit : std::to_string(yuan)) runtime->press(Kind::Digit, digit - '0');
    runtime->press(Kind::ConfirmAmount);
    EXPECT_TRUE(runtime->waitScreen("pay", 10s)) << runtime->screen();
    const auto pay = runtime->lastPay();
    return pay ? pay->payUrl : std::string{};
  }
  // Whether the journal recorded this staff action (uploaded or not: the outbox keeps rows).
  bool journalHas(const std::string& action) {
    sqlite3* db = nullptr;
    const auto file = runtime->journalPath().string();
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(db);
      return false;
    }
    sqlite3_stmt* stmt = nullptr;
    bool found = false;
    if (sqlite3_prepare_v2(db, "SELECT data FROM outbox WHERE type = 'staff.action'", -1, &stmt, nullptr) == SQLITE_OK) {
      while (!found && sqlite3_step(stmt) == SQLITE_ROW) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        found = nlohmann::json::parse(text).value("action", "") == action;
      }
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return found;
  }

  std::filesystem::path m_dir;
  std::unique_ptr<sim::Simulation> simulation;
  std::unique_ptr<Runtime> runtime;
};

TEST_F(SimulationTest, ATopUpEndsOnTheCardAndTheMeterLoadsIt) {
  insert("normal");
  const std::string url = order(50);
  ASSERT_NE(url, "");
  EXPECT_EQ(simulation->answer(url, true), "");
  ASSERT_TRUE(runtime->waitScreen("done", 20s)) << runtime->screen();
  const auto* done = std::get_if<screen::Done>(&runtime->state().screen);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->view.creditMinor, 1500);    // ¥50 less the ¥35 property fee
  EXPECT_EQ(done->view.feesPaidMinor, 3500);
  pull();
  // The meter takes the token (¥86.20 + ¥15.00), then a day of about 8 kWh at ¥0.56.
  auto report = simulation->useInMeter("normal", 1);
  ASSERT_TRUE(report) << report.error();
  EXPECT_EQ(report->tokensLoaded, 1);
  EXPECT_EQ(report->loadedMinor, 1500);
  EXPECT_LT(report->remainingMinor, 8620 + 1500);
  EXPECT_GT(report->remainingMinor, 8620 + 1500 - 1000);
  // Back at the kiosk, the account shows what the meter wrote.
  insert("normal");
  ASSERT_TRUE(runtime->waitScreen("account", 10s)) << runtime->screen();
  const auto* account = std::get_if<screen::Account>(&runtime->state().screen);
  ASSERT_NE(account, nullptr);
  EXPECT_EQ(account->account.balanceMinor, report->remainingMinor);
}

TEST_F(SimulationTest, EachProblemCardGetsItsOwnScreen) {
  const std::pair<const char*, const char*> cases[] = {
      {"blocked", "error:blocked"}, {"foreign", "error:foreign_card"}, {"damaged", "error:card_unreadable"}};
  for (const auto& [key, expected] : cases) {
    SCOPED_TRACE(key);
    insert(key);
    EXPECT_TRUE(runtime->waitScreen(expected, 10s)) << runtime->screen();
    pull();
  }
  insert("low");
  ASSERT_TRUE(runtime->waitScreen("account", 10s)) << runtime->screen();
  const auto* account = std::get_if<screen::Account>(&runtime->state().screen);
  ASSERT_NE(account, nullptr);
  EXPECT_EQ(account->account.balanceMinor, 350);
  EXPECT_NE(account->account.alarm, AlarmLevel::None);
}

TEST_F(SimulationTest, ACutNetworkStopsPaymentsButNotTheBalance) {
  simulation->setNetworkUp(false);
  insert("normal");
  ASSERT_TRUE(runtime->waitScreen("account", 15s)) << runtime->screen();
  const auto* account = std::get_if<screen::Account>(&runtime->state().screen);
  ASSERT_NE(account, nullptr);
  EXPECT_EQ(account->account.balanceMinor, 8620);
  EXPECT_FALSE(account->paymentsAvailable);
  pull();
  simulation->setNetworkUp(true);
  insert("normal");
  ASSERT_TRUE(runtime->waitScreen("account", 15s)) << runtime->screen();
  account = std::get_if<screen::Account>(&runtime->state().screen);
  ASSERT_NE(account, nullptr);
  EXPECT_TRUE(account->paymentsAvailable);
}

TEST_F(SimulationTest, AnOrderLeftOpenExpiresWhenTimeMovesOn) {
  insert("normal");
  ASSERT_NE(order(20), "");
  simulation->advance(std::chrono::minutes(10));
  EXPECT_TRUE(runtime->waitScreen("error:expired", 20s)) << runtime->screen();
}

TEST_F(SimulationTest, WrongPinsLockThePadAndTheRightOneOpensTheDashboard) {
  Maintenance maintenance(*runtime, true);
  ASSERT_FALSE(maintenance.staff().empty()) << "the kiosk config lists no staff";
  Millis now = 1'000'000;
  maintenance.openPinPad();
  auto type = [&](const std::string& pin) {
    for (const char digit : pin) maintenance.handle({Kind::Digit, digit - '0'}, now);
    maintenance.handle({Kind::SignIn, 0}, now);
  };
  for (int i = 0; i < 3; ++i) {
    type("111111");
    EXPECT_TRUE(maintenance.pinView(now).rejected);
    EXPECT_EQ(maintenance.mode(), Maintenance::Mode::Pin);
  }
  EXPECT_GT(maintenance.pinView(now).lockedSeconds, 0) << "three failures must lock the pad";
  // Locked: even the right PIN is refused until the lockout ends.
  type("246810");
  EXPECT_EQ(maintenance.mode(), Maintenance::Mode::Pin);
  const int firstLock = maintenance.pinView(now).lockedSeconds;
  now += 31'000;
  EXPECT_EQ(maintenance.pinView(now).lockedSeconds, 0);
  type("000000");  // one more failure: a longer lockout
  EXPECT_GT(maintenance.pinView(now).lockedSeconds, 30);
  (void)firstLock;
  now += 3'600'000;
  type("246810");
  ASSERT_EQ(maintenance.mode(), Maintenance::Mode::Dashboard);
  EXPECT_EQ(maintenance.view(now).staffName, "Chen Jie");
  EXPECT_TRUE(journalHas("pin_rejected"));
  EXPECT_TRUE(journalHas("maintenance_enter"));
  // Every staff action reaches the cloud.
  ASSERT_TRUE(runtime->engine().syncAndWait(10s));
  EXPECT_EQ(runtime->engine().status().outboxPending, 0);
}

TEST_F(SimulationTest, AStaffCardOpensTheDashboardAndTheReaderTestReadsAnyCard) {
  Maintenance maintenance(*runtime, true);
  insert("staff");
  ASSERT_TRUE(runtime->pumpUntil([](const FlowState& s) { return !s.cardNumber.empty(); }, 10s));
  EXPECT_TRUE(maintenance.noticeCard(runtime->state().cardNumber));
  ASSERT_EQ(maintenance.mode(), Maintenance::Mode::Dashboard);
  EXPECT_FALSE(maintenance.noticeCard(runtime->state().cardNumber)) << "once per insertion";
  const auto& view = maintenance.view(0);
  EXPECT_EQ(view.staffName, "Chen Jie");
  for (const auto& item : view.health) {
    EXPECT_TRUE(item.ok) << item.nameKey << ": " << item.detail;
  }
  // The configuration in use and the last sync, as the cloud and the engine know them.
  EXPECT_EQ(view.configVersion, runtime->engine().status().configEtag);
  EXPECT_GT(view.configVersion.size(), 8U) << "no config version: " << view.configVersion;
  EXPECT_GT(view.lastSync, 0) << "the dashboard says the kiosk never synced";
  pull();
  insert("water");
  maintenance.handle({Kind::ReaderTest, 0}, 2000);
  const auto& logs = maintenance.view(2000).recentLogs;
  ASSERT_FALSE(logs.empty());
  EXPECT_NE(logs.back().find("card 8800000003"), std::string::npos) << logs.back();
  EXPECT_TRUE(journalHas("reader_test"));
}

TEST_F(SimulationTest, AStuckTransactionIsResolvedFromTheDashboard) {
  // Sync cycles an hour apart: only the staff's action can settle the transaction in time.
  stop();
  start(std::chrono::hours(1));
  insert("normal");
  ASSERT_NE(order(30), "");
  // The network fails and the resident walks away: the cancel cannot reach the cloud.
  simulation->setNetworkUp(false);
  runtime->press(Kind::Cancel);
  simulation->pull();
  runtime->pumpFor(2s);
  Maintenance maintenance(*runtime, true);
  maintenance.openPinPad();
  for (const char digit : std::string("246810")) maintenance.handle({Kind::Digit, digit - '0'}, 0);
  maintenance.handle({Kind::SignIn, 0}, 0);
  ASSERT_EQ(maintenance.mode(), Maintenance::Mode::Dashboard);
  ASSERT_EQ(maintenance.view(0).attention.size(), 1U);
  EXPECT_FALSE(maintenance.view(0).attention[0].orderId.empty());
  simulation->setNetworkUp(true);
  runtime->pumpFor(1500ms);
  ASSERT_EQ(maintenance.view(5).attention.size(), 1U) << "settled before anyone asked";
  maintenance.handle({Kind::Resolve, 0}, 10);
  Millis now = 10;
  for (int i = 0; i < 100 && !maintenance.view(now).attention.empty(); ++i) {
    runtime->pumpFor(200ms);
    now += 1000;
  }
  EXPECT_TRUE(maintenance.view(now).attention.empty()) << "the transaction is still open";
  EXPECT_TRUE(journalHas("recheck_transaction"));
}

}  // namespace
}  // namespace kiosk::app
