// Maintenance mode as part of the flow: the PIN pad and its lockout, the staff card, the
// dashboard's actions as commands for the runtime's workers and their results as events.
#include "kiosk/flow.hpp"

#include "platform/bytes.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

using namespace kiosk::app;
using Kind = Intent::Kind;

namespace {

constexpr const char* kStaffCard = "8800009001";

// A credential made the way the cloud makes it (PBKDF2-HMAC-SHA256, 32 bytes).
StaffCredential credential(const std::string& id, const std::string& name, const std::string& pin,
                           const std::string& card) {
  const kiosk::Bytes salt{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  constexpr int kIterations = 1000;
  kiosk::Bytes hash(32);
  PKCS5_PBKDF2_HMAC(pin.data(), static_cast<int>(pin.size()), salt.data(),
                    static_cast<int>(salt.size()), kIterations, EVP_sha256(),
                    static_cast<int>(hash.size()), hash.data());
  return StaffCredential{id, name, kiosk::toHex(salt), kiosk::toHex(hash), kIterations, card};
}

template <class C>
const C* find(const std::vector<Command>& commands) {
  for (const auto& command : commands) {
    if (const auto* found = std::get_if<C>(&command)) return found;
  }
  return nullptr;
}

// The detail of the first staff action in `commands` ("" when there is none).
std::string detail(const std::vector<Command>& commands) {
  const auto* action = find<command::StaffAction>(commands);
  return action != nullptr ? action->detailJson : std::string{};
}

// The number of the reader test asked for in `commands` (0 when none is).
std::uint64_t testOf(const std::vector<Command>& commands) {
  const auto* test = find<command::TestReader>(commands);
  return test != nullptr ? test->test : 0;
}

// Whether the first note in `commands` is a warning.
bool warns(const std::vector<Command>& commands) {
  const auto* note = find<command::Note>(commands);
  return note != nullptr && note->warning;
}

// The staff actions in `commands`, in order.
std::vector<std::string> actions(const std::vector<Command>& commands) {
  std::vector<std::string> out;
  for (const auto& command : commands) {
    if (const auto* action = std::get_if<command::StaffAction>(&command)) out.push_back(action->action);
  }
  return out;
}

class MaintenanceFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    send(event::ConfigLoaded{"kiosk-lobby-3", {credential("s1", "Chen Jie", "246810", kStaffCard)}, {}});
  }
  std::vector<Command> send(const Event& e) { return flow.handle(e, now); }
  std::vector<Command> press(Kind kind, int value = 0) { return send(event::Input{Intent{kind, value}}); }
  // Types the PIN and signs in; a PIN check asked for is done as the maintenance worker does
  // it, and the commands of both steps are returned.
  std::vector<Command> type(const std::string& pin) {
    for (const char digit : pin) press(Kind::Digit, digit - '0');
    auto commands = press(Kind::SignIn);
    if (const auto* check = find<command::CheckPin>(commands)) {
      EXPECT_EQ(check->pin, pin);
      EXPECT_TRUE(pinPadWaits());
      auto checked = send(event::PinChecked{matchPin(check->pin, check->staff).value_or("")});
      commands.insert(commands.end(), checked.begin(), checked.end());
    }
    return commands;
  }
  bool pinPadWaits() const {
    const auto* pad = std::get_if<screen::Pin>(&flow.state().screen);
    return pad != nullptr && pad->view.checking;
  }
  std::string screen() const { return screenName(flow.state().screen); }
  const PinView& pin() const { return std::get<screen::Pin>(flow.state().screen).view; }
  const screen::Maintenance& dashboard() const { return std::get<screen::Maintenance>(flow.state().screen); }

  // Signed in by PIN, the first facts back.
  void toDashboard() {
    press(Kind::OpenPinPad);
    ASSERT_EQ(screen(), "pin");
    type("246810");
    ASSERT_EQ(screen(), "maintenance");
    send(event::DashboardLoaded{facts()});
  }
  static MaintenanceView facts() {
    MaintenanceView view;
    view.health.push_back({"maint.reader", true, "maint.detail.simulated", {}});
    view.attention.push_back({"ord_7", "8800000001", 3000, "maint.state.paid_not_written"});
    view.recentLogs = {"kiosk: screen maintenance"};
    view.configVersion = "\"v42\"";
    view.lastSync = 1'700'000'000;
    return view;
  }

  // What a reader test of the water demo card finds: one token waiting, the meter's tariff.
  static ReaderTestView waterCard() {
    ReaderTestView test;
    test.cardNumber = "8800000003";
    test.utility = Utility::Water;
    test.meterNumber = "30000003";
    test.accountNumber = "A-3";
    test.tokens = {{4, 2000}};
    test.freeRecords = 7;
    test.tariff = TariffOnCard{350, {2000, 1000, 500}, 1000};
    return test;
  }

  Flow flow;
  Millis now = 1'000'000;
};

}  // namespace

TEST_F(MaintenanceFlowTest, TheConfigBringsTheKioskIdAndTheStaff) {
  Flow fresh(FlowConfig{}, "kiosk-from-options");
  EXPECT_EQ(fresh.state().kioskId, "kiosk-from-options");
  fresh.handle(event::ConfigLoaded{"kiosk-lobby-3", {credential("s1", "Chen Jie", "1", kStaffCard)}, {}}, 0);
  EXPECT_EQ(fresh.state().kioskId, "kiosk-lobby-3");
  ASSERT_EQ(fresh.state().staff.size(), 1U);
  EXPECT_EQ(fresh.state().staff[0].name, "Chen Jie");
}

TEST_F(MaintenanceFlowTest, TheHiddenGestureOpensThePinPadOnlyOnTheAttractScreen) {
  send(event::CardInserted{});
  ASSERT_EQ(screen(), "reading");
  EXPECT_TRUE(press(Kind::OpenPinPad).empty());
  EXPECT_EQ(screen(), "reading");
  send(event::CardRemoved{});
  const auto commands = press(Kind::OpenPinPad);
  EXPECT_EQ(screen(), "pin");
  ASSERT_NE(find<command::Note>(commands), nullptr);
  EXPECT_TRUE(actions(commands).empty()) << "opening the pad is no staff action yet";
  press(Kind::Back);
  EXPECT_EQ(screen(), "attract");
}

TEST_F(MaintenanceFlowTest, ThePinPadShowsOnlyHowManyDigitsWereTyped) {
  press(Kind::OpenPinPad);
  for (int i = 0; i < 15; ++i) press(Kind::Digit, 7);
  EXPECT_EQ(pin().digits, 12) << "a PIN has at most 12 digits";
  press(Kind::Backspace);
  EXPECT_EQ(pin().digits, 11);
  press(Kind::Clear);
  EXPECT_EQ(pin().digits, 0);
  EXPECT_TRUE(press(Kind::Digit, 12).empty());
  EXPECT_EQ(pin().digits, 0) << "not a digit";
}

TEST_F(MaintenanceFlowTest, WrongPinsLockThePadAndTheRightOneOpensTheDashboard) {
  press(Kind::OpenPinPad);
  for (int failures = 1; failures <= 3; ++failures) {
    const auto commands = type("111111");
    EXPECT_EQ(screen(), "pin");
    EXPECT_TRUE(pin().rejected);
    EXPECT_EQ(pin().digits, 0);
    ASSERT_EQ(actions(commands), std::vector<std::string>{"pin_rejected"});
    EXPECT_EQ(detail(commands),
              "{\"failures\":" + std::to_string(failures) + ",\"locked_out\":false}");
    ASSERT_NE(find<command::Note>(commands), nullptr);
    EXPECT_TRUE(warns(commands));
  }
  EXPECT_EQ(pin().lockedSeconds, 30) << "three failures lock the pad";
  // Locked: even the right PIN is refused, and the refusal is journaled.
  auto commands = type("246810");
  EXPECT_EQ(screen(), "pin");
  EXPECT_EQ(detail(commands), "{\"failures\":3,\"locked_out\":true}");
  // Leaving and reopening the pad does not reset the lockout.
  press(Kind::Back);
  press(Kind::OpenPinPad);
  EXPECT_EQ(pin().lockedSeconds, 30);
  now += 10'000;
  send(event::Tick{});
  EXPECT_EQ(pin().lockedSeconds, 20) << "the countdown moves with time";
  now += 21'000;
  send(event::Tick{});
  EXPECT_EQ(pin().lockedSeconds, 0);
  type("000000");  // one more failure: a longer lockout
  EXPECT_EQ(pin().lockedSeconds, 60);
  now += 3'600'000;
  commands = type("246810");
  ASSERT_EQ(screen(), "maintenance");
  EXPECT_EQ(dashboard().view.staffName, "Chen Jie");
  ASSERT_EQ(actions(commands), std::vector<std::string>{"maintenance_enter"});
  EXPECT_EQ(detail(commands), R"({"staff_id":"s1","via":"pin"})");
  EXPECT_NE(find<command::RefreshDashboard>(commands), nullptr) << "the dashboard asks for its facts";
}

TEST_F(MaintenanceFlowTest, ThePinIsCheckedOffTheFlowAndThePadWaitsForTheAnswer) {
  press(Kind::OpenPinPad);
  for (const char digit : std::string("246810")) press(Kind::Digit, digit - '0');
  const auto commands = press(Kind::SignIn);
  // No hashing in step(): the PIN and the staff go to the worker, and the pad waits.
  const auto* check = find<command::CheckPin>(commands);
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->pin, "246810");
  ASSERT_EQ(check->staff.size(), 1U);
  EXPECT_EQ(screen(), "pin");
  EXPECT_TRUE(pin().checking);
  EXPECT_EQ(pin().digits, 0);
  EXPECT_TRUE(press(Kind::SignIn).empty()) << "one check at a time";
  // An answer for a pad that was left meanwhile opens nothing.
  press(Kind::Back);
  send(event::PinChecked{"s1"});
  EXPECT_EQ(screen(), "attract");
  // The answer opens the dashboard.
  press(Kind::OpenPinPad);
  for (const char digit : std::string("246810")) press(Kind::Digit, digit - '0');
  press(Kind::SignIn);
  send(event::PinChecked{"s1"});
  EXPECT_EQ(screen(), "maintenance");
}

TEST_F(MaintenanceFlowTest, NoStaffInTheConfigMeansNoPinOpensTheDashboard) {
  send(event::ConfigLoaded{"kiosk-lobby-3", {}, {}});
  press(Kind::OpenPinPad);
  type("246810");
  EXPECT_EQ(screen(), "pin");
  EXPECT_TRUE(pin().rejected);
}

TEST_F(MaintenanceFlowTest, AStaffCardOpensTheDashboardOncePerInsertion) {
  send(event::CardInserted{});
  auto commands = send(event::CardRead{kStaffCard, true});
  ASSERT_EQ(screen(), "maintenance");
  ASSERT_EQ(actions(commands), std::vector<std::string>{"maintenance_enter"});
  EXPECT_EQ(detail(commands), R"({"staff_id":"s1","via":"card"})");
  EXPECT_EQ(find<command::LookupAccount>(commands), nullptr) << "a staff card has no account";
  // Exit with the card still in: it is read again, and does not reopen the dashboard.
  commands = press(Kind::ExitMaintenance);
  EXPECT_EQ(actions(commands), std::vector<std::string>{"maintenance_exit"});
  EXPECT_EQ(screen(), "reading");
  EXPECT_NE(find<command::ReadCard>(commands), nullptr);
  commands = send(event::CardRead{kStaffCard, true});
  EXPECT_EQ(screen(), "attract");
  EXPECT_TRUE(actions(commands).empty());
  // Pulled and put in again: a new insertion opens it again.
  send(event::CardRemoved{});
  send(event::CardInserted{});
  send(event::CardRead{kStaffCard, true});
  EXPECT_EQ(screen(), "maintenance");
}

TEST_F(MaintenanceFlowTest, AStaffCardPutInWhileThePinPadIsUpOpensTheDashboard) {
  press(Kind::OpenPinPad);
  const auto read = send(event::CardInserted{});
  EXPECT_EQ(screen(), "pin");
  ASSERT_NE(find<command::ReadCard>(read), nullptr);
  send(event::CardRead{kStaffCard, true});
  EXPECT_EQ(screen(), "maintenance");
}

TEST_F(MaintenanceFlowTest, AResidentCardIsNoStaffCard) {
  send(event::CardInserted{});
  const auto commands = send(event::CardRead{"8800000001"});
  EXPECT_EQ(screen(), "reading");
  EXPECT_NE(find<command::LookupAccount>(commands), nullptr);
}

TEST_F(MaintenanceFlowTest, TheDashboardShowsTheFactsTheWorkerSends) {
  toDashboard();
  const auto& view = dashboard().view;
  EXPECT_EQ(view.staffName, "Chen Jie") << "the facts do not know who signed in";
  ASSERT_EQ(view.health.size(), 1U);
  EXPECT_EQ(view.configVersion, "\"v42\"");
  ASSERT_EQ(view.attention.size(), 1U);
  // Asked again once a second while shown, never twice at once.
  now += 500;
  EXPECT_TRUE(send(event::Tick{}).empty());
  now += 500;
  EXPECT_NE(find<command::RefreshDashboard>(send(event::Tick{})), nullptr);
  now += 1'500;
  EXPECT_TRUE(send(event::Tick{}).empty()) << "a refresh is still out";
  send(event::DashboardLoaded{facts()});
  now += 1'000;
  EXPECT_NE(find<command::RefreshDashboard>(send(event::Tick{})), nullptr);
}

TEST_F(MaintenanceFlowTest, DashboardActionsBecomeCommandsForTheWorkers) {
  toDashboard();
  auto commands = press(Kind::SyncNow);
  EXPECT_EQ(actions(commands), std::vector<std::string>{"sync_now"});
  EXPECT_NE(find<command::SyncNow>(commands), nullptr);
  EXPECT_NE(find<command::RefreshDashboard>(commands), nullptr) << "the action's effect shows at once";
  // A press while a refresh is out asks again as soon as it is back.
  commands = press(Kind::Resolve, 0);
  EXPECT_EQ(actions(commands), std::vector<std::string>{"recheck_transaction"});
  EXPECT_EQ(detail(commands),
            R"({"order_id":"ord_7","staff_id":"s1","via":"pin"})");
  EXPECT_NE(find<command::RecheckTransactions>(commands), nullptr);
  EXPECT_EQ(find<command::RefreshDashboard>(commands), nullptr);
  EXPECT_NE(find<command::RefreshDashboard>(send(event::DashboardLoaded{facts()})), nullptr);
  EXPECT_TRUE(press(Kind::Resolve, 3).empty()) << "no such row";
  EXPECT_TRUE(press(Kind::Resolve, -1).empty());
}

TEST_F(MaintenanceFlowTest, TheReaderTestRunsOnAWorkerAndItsResultComesBackAsAnEvent) {
  toDashboard();
  auto commands = press(Kind::ReaderTest);
  EXPECT_EQ(actions(commands), std::vector<std::string>{"reader_test"});
  ASSERT_NE(find<command::TestReader>(commands), nullptr);
  const auto test = find<command::TestReader>(commands)->test;
  EXPECT_TRUE(press(Kind::ReaderTest).empty()) << "one reader test at a time";
  // Cards come and go while staff test the reader; the dashboard stays.
  EXPECT_TRUE(send(event::CardInserted{}).empty());
  EXPECT_EQ(screen(), "maintenance");
  commands = send(event::ReaderTested{waterCard(), test});
  ASSERT_TRUE(dashboard().view.readerTest) << "the result is not shown";
  EXPECT_EQ(dashboard().view.readerTest->cardNumber, "8800000003");
  EXPECT_EQ(dashboard().view.readerTest->freeRecords, 7);
  EXPECT_NE(find<command::RefreshDashboard>(commands), nullptr);
  // Newer facts keep the result.
  send(event::DashboardLoaded{facts()});
  ASSERT_TRUE(dashboard().view.readerTest) << "a refresh dropped the result";
  EXPECT_EQ(dashboard().view.readerTest->meterNumber, "30000003");
  // The next test starts without the last one's result: its card may be gone.
  EXPECT_FALSE(press(Kind::ReaderTest).empty()) << "the next test may start";
  EXPECT_FALSE(dashboard().view.readerTest) << "the last card's result stays while another is read";
  send(event::CardRemoved{});
  EXPECT_EQ(screen(), "maintenance");
  // Exit with no card: back to attract.
  press(Kind::ExitMaintenance);
  EXPECT_EQ(screen(), "attract");
}

TEST_F(MaintenanceFlowTest, ASecondVisitStartsWithoutTheLastVisitsReaderTest) {
  // A visit tests the reader and leaves; the next visit starts with no result.
  toDashboard();
  send(event::ReaderTested{waterCard(), testOf(press(Kind::ReaderTest))});
  ASSERT_TRUE(dashboard().view.readerTest);
  press(Kind::ExitMaintenance);
  toDashboard();
  EXPECT_FALSE(dashboard().view.readerTest) << "the last visit's result is shown";
  // A visit leaves while its test is under way; the result comes back during the next visit,
  // which never asked for it.
  const auto late = testOf(press(Kind::ReaderTest));
  press(Kind::ExitMaintenance);
  toDashboard();
  send(event::ReaderTested{waterCard(), late});
  EXPECT_FALSE(dashboard().view.readerTest) << "the last visit's result is shown";
  EXPECT_FALSE(dashboard().view.readerTesting);
  send(event::DashboardLoaded{facts()});
  EXPECT_FALSE(dashboard().view.readerTest) << "the last visit's result is shown after a refresh";
  // This visit's own test still shows its result.
  send(event::ReaderTested{waterCard(), testOf(press(Kind::ReaderTest))});
  EXPECT_TRUE(dashboard().view.readerTest);
}

TEST_F(MaintenanceFlowTest, RestartWaitsForTheLastSyncWithoutHoldingTheScreen) {
  toDashboard();
  auto commands = press(Kind::Restart);
  EXPECT_EQ(actions(commands), std::vector<std::string>{"restart"});
  EXPECT_NE(find<command::PrepareRestart>(commands), nullptr);
  EXPECT_FALSE(flow.state().restart) << "not before the last sync is over";
  EXPECT_EQ(screen(), "maintenance");
  EXPECT_TRUE(press(Kind::SyncNow).empty()) << "nothing starts while the restart is under way";
  EXPECT_TRUE(press(Kind::ExitMaintenance).empty());
  send(event::RestartReady{});
  EXPECT_TRUE(flow.state().restart);
}

TEST_F(MaintenanceFlowTest, ResultsForAClosedDashboardChangeNothing) {
  send(event::DashboardLoaded{facts()});
  send(event::ReaderTested{waterCard()});
  send(event::RestartReady{});
  EXPECT_EQ(screen(), "attract");
  EXPECT_FALSE(flow.state().restart);
}
