// Simulation mode as someone trying the kiosk meets it, without a window: the embedded cloud,
// the demo cards in the in-process reader, the cuttable network, the meters, and maintenance
// mode (PIN lockout, staff card, a stuck transaction resolved from the dashboard).

#include "kiosk/sim/simulation.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "card/profile.hpp"
#include "card/virtual_card.hpp"
#include "kiosk/i18n.hpp"
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
    // The flow's clock runs with the steady one, plus whatever a test skips (PIN lockouts).
    runtimeOptions.monotonic = [this] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
                 .count() +
             m_skipped.load();
    };
    auto made2 = Runtime::create(runtimeOptions);
    ASSERT_TRUE(made2) << made2.error();
    runtime = std::move(*made2);
    simulation->attach(runtime.get());
    runtime->start();
    ASSERT_TRUE(runtime->syncAndWait(10s));
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
  // Whether the journal recorded this staff action (uploaded or not: the outbox keeps rows),
  // once the maintenance worker has done what the flow asked of it so far.
  bool journalHas(const std::string& action) {
    EXPECT_TRUE(runtime->waitMaintenance(10s)) << "the maintenance worker is stuck";
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

  // Maintenance as staff meet it, through the flow the window draws.
  bool waitStaff() {
    return runtime->pumpUntil([](const FlowState& s) { return !s.staff.empty(); }, 10s);
  }
  void openPinPad() {
    runtime->press(Kind::OpenPinPad);
    ASSERT_EQ(runtime->screen(), "pin");
  }
  // Types the PIN, signs in, and waits for the maintenance worker's check of it.
  void type(const std::string& pin) {
    for (const char digit : pin) runtime->press(Kind::Digit, digit - '0');
    runtime->press(Kind::SignIn);
    const bool checked = runtime->pumpUntil(
        [](const FlowState& s) {
          const auto* pad = std::get_if<screen::Pin>(&s.screen);
          return pad == nullptr || !pad->view.checking;
        },
        10s);
    ASSERT_TRUE(checked) << "the PIN was not checked within 10 s";
  }
  // The PIN pad as shown now (its countdown is brought up to date first).
  PinView pinView() {
    runtime->feed(event::Tick{});
    const auto* pin = std::get_if<screen::Pin>(&runtime->state().screen);
    return pin != nullptr ? pin->view : PinView{};
  }
  void skip(std::chrono::milliseconds by) { m_skipped += by.count(); }
  // The dashboard once `ready` holds for it (its facts come from a worker).
  MaintenanceView dashboard(const std::function<bool(const MaintenanceView&)>& ready =
                                [](const MaintenanceView& v) { return !v.health.empty(); },
                            std::chrono::milliseconds timeout = 10s) {
    runtime->pumpUntil(
        [&](const FlowState& s) {
          const auto* d = std::get_if<screen::Maintenance>(&s.screen);
          return d != nullptr && ready(d->view);
        },
        timeout);
    const auto* d = std::get_if<screen::Maintenance>(&runtime->state().screen);
    return d != nullptr ? d->view : MaintenanceView{};
  }

  std::filesystem::path m_dir;
  std::atomic<Millis> m_skipped{0};
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
  EXPECT_FALSE(account->account.payable());
  pull();
  simulation->setNetworkUp(true);
  insert("normal");
  ASSERT_TRUE(runtime->waitScreen("account", 15s)) << runtime->screen();
  account = std::get_if<screen::Account>(&runtime->state().screen);
  ASSERT_NE(account, nullptr);
  EXPECT_TRUE(account->account.payable());
}

TEST_F(SimulationTest, AnOrderLeftOpenExpiresWhenTimeMovesOn) {
  insert("normal");
  ASSERT_NE(order(20), "");
  simulation->advance(std::chrono::minutes(10));
  EXPECT_TRUE(runtime->waitScreen("error:expired", 20s)) << runtime->screen();
}

TEST_F(SimulationTest, WrongPinsLockThePadAndTheRightOneOpensTheDashboard) {
  ASSERT_TRUE(waitStaff()) << "the kiosk config lists no staff";
  openPinPad();
  for (int i = 0; i < 3; ++i) {
    type("111111");
    EXPECT_TRUE(pinView().rejected);
    EXPECT_EQ(runtime->screen(), "pin");
  }
  EXPECT_GT(pinView().lockedSeconds, 0) << "three failures must lock the pad";
  // Locked: even the right PIN is refused until the lockout ends.
  type("246810");
  EXPECT_EQ(runtime->screen(), "pin");
  const int firstLock = pinView().lockedSeconds;
  skip(31'000ms);
  EXPECT_EQ(pinView().lockedSeconds, 0);
  type("000000");  // one more failure: a longer lockout
  EXPECT_GT(pinView().lockedSeconds, 30);
  (void)firstLock;
  skip(3'600'000ms);
  type("246810");
  ASSERT_EQ(runtime->screen(), "maintenance");
  EXPECT_EQ(dashboard().staffName, "Chen Jie");
  EXPECT_TRUE(journalHas("pin_rejected"));
  EXPECT_TRUE(journalHas("maintenance_enter"));
  // Every staff action reaches the cloud.
  ASSERT_TRUE(runtime->syncAndWait(10s));
  EXPECT_EQ(runtime->status().outboxPending, 0);
}

TEST_F(SimulationTest, AStaffCardOpensTheDashboardAndTheReaderTestReadsAnyCard) {
  ASSERT_TRUE(waitStaff()) << "the kiosk config lists no staff";
  insert("staff");
  ASSERT_TRUE(runtime->pumpUntil([](const FlowState& s) { return !s.cardNumber.empty(); }, 10s));
  ASSERT_TRUE(runtime->waitScreen("maintenance", 5s)) << runtime->screen();
  const auto view = dashboard();
  EXPECT_EQ(view.staffName, "Chen Jie");
  // Each health detail is a key the dashboard words in its language.
  const auto strings = Strings::loadFile(std::string(KIOSK_ASSETS_DIR) + "/i18n/strings.json");
  EXPECT_EQ(view.health.size(), 6U);
  for (const auto& item : view.health) {
    EXPECT_TRUE(item.ok) << item.nameKey << ": " << item.detailKey;
    EXPECT_TRUE(strings.has(item.detailKey)) << item.nameKey << ": " << item.detailKey;
  }
  // The configuration in use and the last sync, as the cloud and the engine know them.
  EXPECT_EQ(view.configVersion, runtime->status().configEtag);
  EXPECT_GT(view.configVersion.size(), 8U) << "no config version: " << view.configVersion;
  EXPECT_GT(view.lastSync, 0) << "the dashboard says the kiosk never synced";
  // Once per insertion: after Exit the staff card still in the reader is only a card.
  runtime->press(Kind::ExitMaintenance);
  ASSERT_TRUE(runtime->waitScreen("attract", 10s)) << runtime->screen();
  runtime->pumpFor(500ms);
  EXPECT_EQ(runtime->screen(), "attract") << "once per insertion";
  // Put in again, it opens the dashboard again; cards changed for the reader test keep it.
  pull();
  insert("staff");
  ASSERT_TRUE(runtime->waitScreen("maintenance", 10s)) << runtime->screen();
  simulation->pull();
  insert("water");
  runtime->pumpFor(300ms);
  ASSERT_EQ(runtime->screen(), "maintenance") << "changing cards left the dashboard";
  runtime->press(Kind::ReaderTest);
  // The card's files, as read and authenticated: ID, CREDIT, RETURN (none yet), PARAMS.
  const auto test = dashboard([](const MaintenanceView& v) { return v.readerTest.has_value(); }).readerTest;
  ASSERT_TRUE(test);
  EXPECT_EQ(test->problemKey, "");
  EXPECT_EQ(test->cardNumber, "8800000003");
  EXPECT_EQ(test->utility, Utility::Water);
  EXPECT_FALSE(test->staffCard);
  EXPECT_EQ(test->freeRecords, 8);
  EXPECT_FALSE(test->meter) << "the water card's meter never wrote to it";
  ASSERT_TRUE(test->tariff) << "the reader test does not read PARAMS";
  EXPECT_GT(test->tariff->priceMinorPerUnit, 0);
  EXPECT_TRUE(journalHas("reader_test"));
}

TEST_F(SimulationTest, AStuckTransactionIsResolvedFromTheDashboard) {
  // Sync cycles an hour apart: only the staff's action can settle the transaction in time.
  stop();
  start(std::chrono::hours(1));
  ASSERT_TRUE(waitStaff()) << "the kiosk config lists no staff";
  insert("normal");
  ASSERT_NE(order(30), "");
  // The network fails and the resident walks away: the cancel cannot reach the cloud.
  simulation->setNetworkUp(false);
  runtime->press(Kind::Cancel);
  simulation->pull();
  runtime->pumpFor(2s);
  openPinPad();
  type("246810");
  ASSERT_EQ(runtime->screen(), "maintenance");
  // The dashboard's facts are read again once a second while it is shown.
  auto attention = dashboard().attention;
  ASSERT_EQ(attention.size(), 1U);
  EXPECT_FALSE(attention[0].orderId.empty());
  simulation->setNetworkUp(true);
  // As the staff see it when they press: the engine's own cancel retry may settle it soon after
  // the network returns, but not before the dashboard was read.
  ASSERT_EQ(dashboard().attention.size(), 1U) << "settled before anyone asked";
  runtime->press(Kind::Resolve, 0);
  attention = dashboard([](const MaintenanceView& v) { return v.attention.empty(); }, 20s).attention;
  EXPECT_TRUE(attention.empty()) << "the transaction is still open";
  EXPECT_TRUE(journalHas("recheck_transaction"));
}

TEST_F(SimulationTest, RestartGivesItsLastSyncTimeWithoutHoldingTheScreen) {
  ASSERT_TRUE(waitStaff()) << "the kiosk config lists no staff";
  openPinPad();
  type("246810");
  ASSERT_EQ(runtime->screen(), "maintenance");
  ASSERT_FALSE(dashboard().health.empty());
  // With the network cut the last sync can only time out: it takes its full three seconds.
  simulation->setNetworkUp(false);
  const auto pressed = std::chrono::steady_clock::now();
  runtime->press(Kind::Restart);
  EXPECT_LT(std::chrono::steady_clock::now() - pressed, 300ms) << "the press waited for the sync";
  // Meanwhile the flow takes its events as usual: the window draws each one.
  for (int i = 0; i < 10; ++i) {
    const auto before = std::chrono::steady_clock::now();
    runtime->feed(event::Tick{});
    EXPECT_LT(std::chrono::steady_clock::now() - before, 50ms) << "a frame's event took too long";
    runtime->pumpFor(100ms);
  }
  EXPECT_EQ(runtime->screen(), "maintenance");
  EXPECT_FALSE(runtime->state().restart) << "restarted before the last sync had its time";
  ASSERT_TRUE(runtime->pumpUntil([](const FlowState& s) { return s.restart; }, 10s));
  EXPECT_GE(std::chrono::steady_clock::now() - pressed, 2500ms);
  EXPECT_TRUE(journalHas("restart"));
}

}  // namespace
}  // namespace kiosk::app
