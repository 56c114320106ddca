// The real `kiosk-sim --headless` binary driven by scenario scripts: a top-up, and the process
// killed with SIGKILL right after each journal step and started again. After every restart
// the kiosk finishes what was started: exactly one credit per paid order on the card, none
// twice, none lost, and the cloud's books agree with the journal.

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "harness.hpp"

extern char** environ;

namespace kiosk::e2e {
namespace {

struct KioskRun {
  int exitCode = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string output;
};

class HeadlessKiosk : public ::testing::Test {
 protected:
  void SetUp() override {
    harness = std::make_unique<Harness>(Harness::Options{.orderTtlSeconds = 300, .proxy = false});
    cardFile = harness->issue(kWaterCard);
  }

  KioskRun runKiosk(const std::string& script, const std::string& crashAfter = {}) {
    const auto scriptFile = harness->dir() / ("script-" + std::to_string(++runs) + ".txt");
    std::ofstream(scriptFile) << script;
    const auto logFile = harness->dir() / ("kiosk-" + std::to_string(runs) + ".log");
    std::vector<std::string> args{KIOSK_SIM_BINARY,
                                  "--headless",
                                  "--script", scriptFile.string(),
                                  "--cloud", harness->kioskUrl(),
                                  "--kiosk-id", kKiosk,
                                  "--secret-file", harness->secretFile().string(),
                                  "--journal", harness->journalFile().string(),
                                  "--issuer-key", harness->cloud().issuerKeyFile().string(),
                                  "--reader", harness->pcscd().reader(0),
                                  "--vpcd", "127.0.0.1:" + std::to_string(harness->pcscd().link(0).port),
                                  "--log-level", "info"};
    if (!crashAfter.empty()) {
      args.emplace_back("--crash-after");
      args.push_back(crashAfter);
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, logFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    KioskRun run;
    if (rc != 0) {
      ADD_FAILURE() << "cannot start " << KIOSK_SIM_BINARY;
      return run;
    }
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ADD_FAILURE() << "the kiosk did not finish its script";
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
    if (WIFEXITED(status)) run.exitCode = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
    std::ifstream log(logFile);
    std::stringstream text;
    text << log.rdbuf();
    run.output = text.str();
    return run;
  }

  std::string buy(int yuan) {
    return "insert " + cardFile.string() + "\nexpect account\namount " + std::to_string(yuan) +
           "\nexpect pay\n";
  }
  std::string again() const {
    return "insert " + cardFile.string() + "\nexpect done|account 40\nwait 0.5\nsync 30\npull\n";
  }
  std::vector<card::CreditToken> tokens() const {
    auto image = card::loadCardFile(cardFile);
    return image ? tokensOn(*image) : std::vector<card::CreditToken>{};
  }
  std::vector<json> cardOrders() {
    std::vector<json> out;
    const json all = harness->orders();
    for (const auto& order : all["orders"]) {
      if (order.value("card_number", "") == kWaterCard) out.push_back(order);
    }
    return out;
  }
  void expectBooks() {
    auto journal = payments::Journal::open(harness->journalFile());
    ASSERT_TRUE(journal);
    auto image = card::loadCardFile(cardFile);
    ASSERT_TRUE(image);
    for (const auto& problem : checkBooks(*harness, *image, **journal, kWaterCard)) {
      ADD_FAILURE() << problem;
    }
    auto open = (*journal)->unfinished();
    ASSERT_TRUE(open);
    EXPECT_TRUE(open->empty()) << open->size() << " transaction(s) left open";
    for (const auto& problem : checkOutbox(*harness, harness->journalFile())) ADD_FAILURE() << problem;
  }

  std::unique_ptr<Harness> harness;
  std::filesystem::path cardFile;
  int runs = 0;
};

TEST_F(HeadlessKiosk, RunsATopUpScript) {
  const KioskRun run = runKiosk(buy(20) + "pay\nexpect done 30\nstaff reader_test {\"result\": \"ok\"}\n" +
                                "sync 30\npress finish\nexpect take_card\npull\nexpect attract\n");
  ASSERT_EQ(run.exitCode, 0) << run.output;
  EXPECT_NE(run.output.find("screen done"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("ok 12 lines"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("sync outbox_pending=0 open_transactions=0 online=yes"), std::string::npos)
      << run.output;
  ASSERT_EQ(tokens().size(), 1U);
  EXPECT_EQ(tokens()[0].amount, 2000U);
  expectBooks();
  // The staff action and the whole transaction reached the cloud's journal.
  const auto staff = cloudEvents(*harness, "staff.action");
  ASSERT_EQ(staff.size(), 1U);
  EXPECT_EQ(staff[0].value("action", ""), "reader_test");
  EXPECT_EQ(staff[0].value("result", ""), "ok");
  const auto confirmed = cloudEvents(*harness, "tx.confirmed");
  ASSERT_EQ(confirmed.size(), 1U);
  EXPECT_EQ(confirmed[0].value("token_sequence", 0), static_cast<int>(tokens()[0].sequence));
}

TEST_F(HeadlessKiosk, RunsTheExampleInTheOperationsGuide) {
  std::ifstream doc(std::string(KIOSK_SOURCE_DIR) + "/docs/operations.md");
  std::stringstream text;
  text << doc.rdbuf();
  const std::string guide = text.str();
  const auto section = guide.find("## Headless mode");
  const auto example = guide.find("Example:", section);
  const auto open = guide.find("```\n", example);
  const auto close = guide.find("```", open + 4);
  ASSERT_NE(section, std::string::npos);
  ASSERT_NE(close, std::string::npos);
  std::string script = guide.substr(open + 4, close - open - 4);
  const std::string placeholder = "cards/card-8800000003.json";
  for (auto at = script.find(placeholder); at != std::string::npos;
       at = script.find(placeholder, at + cardFile.string().size())) {
    script.replace(at, placeholder.size(), cardFile.string());
  }
  const KioskRun run = runKiosk(script);
  ASSERT_EQ(run.exitCode, 0) << run.output;
  const auto onCard = tokens();
  ASSERT_EQ(onCard.size(), 2U);
  EXPECT_EQ(onCard[0].amount + onCard[1].amount, 7000U);
  expectBooks();
}

TEST_F(HeadlessKiosk, AFailedExpectationSaysWhatWasSeen) {
  const KioskRun run = runKiosk("insert " + cardFile.string() + "\nexpect done 3\n");
  EXPECT_EQ(run.exitCode, 3) << run.output;
  EXPECT_NE(run.output.find("FAILED line 2: expected screen done, the kiosk shows account"),
            std::string::npos)
      << run.output;
}

TEST_F(HeadlessKiosk, RefusesAMalformedScript) {
  const KioskRun run = runKiosk("insert\nfly away\n");
  EXPECT_EQ(run.exitCode, 2) << run.output;
  EXPECT_NE(run.output.find("line 1"), std::string::npos) << run.output;
}

struct Crash {
  const char* step;
  bool paid;  // the order is paid before the crash (or while the kiosk is down)
};

class KilledAt : public HeadlessKiosk, public ::testing::WithParamInterface<Crash> {};

TEST_P(KilledAt, TheRestartedKioskFinishesTheTransaction) {
  const Crash crash = GetParam();
  const std::string step = crash.step;
  std::string first = buy(30);
  if (step == "cancel_requested" || step == "closed") {
    first += "press cancel\nexpect amount\n";
  } else {
    if (step == "card_pulled") first += "tear 1 before\n";
    first += "pay\nexpect done 30\n";
  }
  const KioskRun killed = runKiosk(first, step);
  ASSERT_EQ(killed.signal, SIGKILL) << "exit " << killed.exitCode << "\n" << killed.output;

  if (step == "qr_shown") {
    // The resident pays with the QR code on the phone while the kiosk restarts.
    const auto orders = cardOrders();
    ASSERT_EQ(orders.size(), 1U);
    harness->pay(orders[0].value("order_id", ""));
  }

  const KioskRun restarted = runKiosk(again());
  ASSERT_EQ(restarted.exitCode, 0) << restarted.output;

  const auto onCard = tokens();
  const auto orders = cardOrders();
  if (crash.paid) {
    ASSERT_EQ(onCard.size(), 1U) << restarted.output;
    EXPECT_EQ(onCard[0].amount, 3000U);
    ASSERT_EQ(orders.size(), 1U);
    EXPECT_EQ(orders[0].value("state", ""), "DELIVERED");
  } else {
    EXPECT_TRUE(onCard.empty());
    for (const auto& order : orders) EXPECT_EQ(order.value("state", ""), "CANCELED") << order.dump();
  }
  expectBooks();
}

std::string crashName(const ::testing::TestParamInfo<Crash>& info) {
  std::string name;
  bool upper = true;
  for (const char c : std::string(info.param.step)) {
    if (c == '_') {
      upper = true;
      continue;
    }
    name.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c);
    upper = false;
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(EveryJournalStep, KilledAt,
                         ::testing::Values(Crash{"order_requested", false},
                                           Crash{"order_created", false},
                                           Crash{"qr_shown", true},
                                           Crash{"cancel_requested", false},
                                           Crash{"paid", true},
                                           Crash{"script_fetched", true},
                                           Crash{"apdu_sent", true},
                                           Crash{"card_pulled", true},
                                           Crash{"read_back", true},
                                           Crash{"confirmed", true},
                                           Crash{"closed", false}),
                         crashName);

}  // namespace
}  // namespace kiosk::e2e
