#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <fstream>
#include <sstream>

#include "card/tool/card_tool.hpp"
#include "card/virtual_card.hpp"

namespace kiosk::card::tool {
namespace {

class ToolTest : public ::testing::Test {
 protected:
  ToolTest() {
    dir = std::filesystem::temp_directory_path() /
          ("kiosk-card-tool-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~ToolTest() override { std::filesystem::remove_all(dir); }

  int keys(const std::filesystem::path& where) {
    std::ostringstream out;
    return runKeys({where, false}, out);
  }
  int issue(const std::filesystem::path& keyDir, const std::filesystem::path& card) {
    IssueOptions o;
    o.keys = keyDir;
    o.out = card;
    o.cardNumber = 8600000000000009ULL;
    o.meterNumber = 410000000009ULL;
    o.account = "ACC-TOOL-1";
    o.overdraft = 300;
    std::ostringstream out;
    return runIssue(o, out);
  }
  nlohmann::json dumpJson(const std::filesystem::path& keyDir, const std::filesystem::path& card,
                          int& code) {
    DumpOptions o;
    o.keys = keyDir;
    o.cardFile = card;
    o.json = true;
    o.params = true;
    std::ostringstream out;
    code = runDump(o, out);
    return code == kExitOk ? nlohmann::json::parse(out.str()) : nlohmann::json{};
  }

  std::filesystem::path dir;
};

TEST_F(ToolTest, IssueTopupMeterDumpRoundTrip) {
  ASSERT_EQ(keys(dir / "keys"), kExitOk);
  EXPECT_EQ(keys(dir / "keys"), kExitInput);  // never overwrites keys silently
  ASSERT_EQ(issue(dir / "keys", dir / "card.json"), kExitOk);

  int code = -1;
  auto doc = dumpJson(dir / "keys", dir / "card.json", code);
  ASSERT_EQ(code, kExitOk);
  EXPECT_TRUE(doc["authentic"].get<bool>());
  EXPECT_EQ(doc["apdus"].get<int>(), 6);  // with PARAMS
  EXPECT_EQ(doc["id"]["account_number"], "ACC-TOOL-1");
  EXPECT_EQ(doc["params"]["price_per_unit_minor"].get<int>(), 60);
  EXPECT_TRUE(doc["return"].is_null());

  TopupOptions topup;
  topup.cardFile = dir / "card.json";
  topup.keys = dir / "keys";
  topup.amount = 5000;
  topup.issuedAt = 1767225600;
  std::ostringstream out;
  ASSERT_EQ(runTopup(topup, out), kExitOk) << out.str();
  doc = dumpJson(dir / "keys", dir / "card.json", code);
  ASSERT_EQ(doc["credits"].size(), 1U);
  EXPECT_EQ(doc["credits"][0]["sequence"].get<int>(), 1);
  EXPECT_EQ(doc["credits"][0]["amount_minor"].get<int>(), 5000);
  EXPECT_TRUE(doc["credits"][0]["mac_valid"].get<bool>());

  MeterOptions meter;
  meter.cardFile = dir / "card.json";
  meter.keys = dir / "keys";
  meter.days = 2;
  meter.milliUnitsPerDay = 10'000;  // 10 kWh a day at 0.60: 6.00 a day
  meter.start = 1767225600;
  out.str({});
  ASSERT_EQ(runMeter(meter, out), kExitOk) << out.str();
  EXPECT_NE(out.str().find("token sequence 1 (50.00): loaded"), std::string::npos) << out.str();
  doc = dumpJson(dir / "keys", dir / "card.json", code);
  EXPECT_TRUE(doc["credits"].empty());
  EXPECT_EQ(doc["return"]["remaining_credit_minor"].get<int>(), 5000 - 1200);
  EXPECT_EQ(doc["return"]["consumption_milli"].get<int>(), 20'000);
  EXPECT_EQ(doc["return"]["last_sequence"].get<int>(), 1);
  EXPECT_TRUE(doc["return"]["mac_valid"].get<bool>());

  // The next run continues from the RETURN on the card.
  meter.start = 1767225600 + 2 * 86400;
  meter.days = 1;
  out.str({});
  ASSERT_EQ(runMeter(meter, out), kExitOk);
  doc = dumpJson(dir / "keys", dir / "card.json", code);
  EXPECT_EQ(doc["return"]["remaining_credit_minor"].get<int>(), 5000 - 1800);
}

TEST_F(ToolTest, CardOfAnotherIssuerIsNotAuthentic) {
  ASSERT_EQ(keys(dir / "keys"), kExitOk);
  ASSERT_EQ(keys(dir / "other"), kExitOk);
  ASSERT_EQ(issue(dir / "other", dir / "card.json"), kExitOk);
  int code = -1;
  (void)dumpJson(dir / "keys", dir / "card.json", code);
  EXPECT_EQ(code, kExitNotAuthentic);
}

TEST_F(ToolTest, BadInputsAreReported) {
  std::ostringstream out;
  EXPECT_EQ(issue(dir / "missing", dir / "card.json"), kExitInput);
  ASSERT_EQ(keys(dir / "keys"), kExitOk);
  IssueOptions o;
  o.keys = dir / "keys";
  o.out = dir / "card.json";
  o.cardNumber = 1;
  o.meterNumber = 1;
  o.account = "";  // an account is required
  EXPECT_EQ(runIssue(o, out), kExitInput);
  o.account = "A";
  o.utility = "gas";
  EXPECT_EQ(runIssue(o, out), kExitInput);
  std::ofstream(dir / "broken.json") << "{\"format\":\"kiosk-card-v1\"";
  int code = -1;
  (void)dumpJson(dir / "keys", dir / "broken.json", code);
  EXPECT_EQ(code, kExitInput);
  DumpOptions none;
  none.keys = dir / "keys";
  EXPECT_EQ(runDump(none, out), kExitInput);
}

}  // namespace
}  // namespace kiosk::card::tool
