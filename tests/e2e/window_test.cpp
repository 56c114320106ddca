// The real kiosk window end to end: the `kiosk` binary under X (Xvfb), a kiosk-cloud process,
// the card on vpcd read through real pcscd. The test presses the kiosk's buttons with real
// pointer events (xdotool) where the kiosk drew them, reads the QR code off the pay screen's
// pixels (zbarimg), pays on the pay page in headless Chromium, and then takes the card to its
// meter: the token loads, and the meter's RETURN reaches the cloud at the next insertion.

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <ctime>
#include <algorithm>
#include <fstream>
#include <sstream>
#include <optional>
#include <thread>

#include "../cloud/browser.hpp"
#include "../support/processes.hpp"
#include "card/virtual_meter.hpp"
#include "harness.hpp"


namespace kiosk::e2e {
namespace {

std::string run(const std::string& command) { return kiosk::test::runCommand(command); }
using kiosk::test::spawnLogged;

void stop(pid_t& pid) { kiosk::test::stopProcess(pid); }

class KioskWindow : public ::testing::Test {
 protected:
  // The kiosk reaches the cloud directly unless a test needs to stall the network.
  virtual bool throughProxy() const { return false; }
  virtual std::int64_t orderTtlSeconds() const { return 300; }

  void SetUp() override {
    harness = std::make_unique<Harness>(Harness::Options{.orderTtlSeconds = orderTtlSeconds(), .proxy = throughProxy()});
    cardFile = harness->issue(kWaterCard);
    slot = std::make_unique<CardSlot>(harness->pcscd(), cardFile);
    shots = harness->dir() / "shots";
    {
      // A display of our own, as on a kiosk with no desktop session: the pointer presses go
      // to this kiosk's window, never to another test's window on a shared display.
      int number = 40 + static_cast<int>(getpid() % 500);
      while (std::filesystem::exists("/tmp/.X" + std::to_string(number) + "-lock")) ++number;
      xvfb = spawnLogged({"Xvfb", ":" + std::to_string(number), "-screen", "0", "1920x1920x24", "-nolisten", "tcp"},
                   harness->dir() / "xvfb.log");
      ASSERT_GT(xvfb, 0) << "cannot start Xvfb";
      setenv("DISPLAY", (":" + std::to_string(number)).c_str(), 1);
      for (int i = 0; i < 100 && !std::filesystem::exists("/tmp/.X11-unix/X" + std::to_string(number)); ++i) {
        std::this_thread::sleep_for(50ms);
      }
    }
    const std::string secret = harness->secretFile().string();
    kiosk = spawnLogged({KIOSK_BINARY, "--cloud", harness->kioskUrl(), "--kiosk-id", kKiosk,
                   "--secret-file", secret, "--journal", harness->journalFile().string(),
                   "--issuer-key", harness->cloud().issuerKeyFile().string(),
                   "--reader", harness->pcscd().reader(0), "--windowed", "1080x1920", "--lang", "en",
                   "--shots", shots.string(), "--log-level", "info"},
                  harness->dir() / "kiosk.log");
    ASSERT_GT(kiosk, 0);
    window = run("xdotool search --sync --onlyvisible --pid " + std::to_string(kiosk) + " 2>/dev/null | head -1");
    ASSERT_FALSE(window.empty()) << "the kiosk opened no window";
  }
  void TearDown() override {
    stop(kiosk);
    slot.reset();
    if (xvfb > 0) {
      stop(xvfb);
      unsetenv("DISPLAY");
    }
    if (HasFailure()) {
      std::ifstream log(harness->dir() / "kiosk.log");
      std::stringstream text;
      text << log.rdbuf();
      std::cerr << "kiosk log:\n" << text.str() << "\n";
    }
    harness.reset();
  }

  // Waits until the kiosk's log has a line containing `text`.
  bool logged(const std::string& text, std::chrono::seconds timeout = 30s) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      std::ifstream log(harness->dir() / "kiosk.log");
      std::stringstream all;
      all << log.rdbuf();
      if (all.str().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(100ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }

  // The window's pixels as they are on the screen now (what a person sees), as a digest.
  std::string pixels() const {
    return run("import -window " + window + " rgb:- 2>/dev/null | md5sum");
  }

  // The layout of the newest screenshot of `screen`, waiting for one newer than `after`.
  std::optional<std::pair<std::filesystem::path, json>> waitShot(const std::string& screen, int after,
                                                                 std::chrono::seconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string file = screen;  // "error:unconfirmed" is shot as "NN_error_unconfirmed.png"
    std::replace(file.begin(), file.end(), ':', '_');
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::filesystem::exists(shots)) {
        std::vector<std::filesystem::path> found;
        for (const auto& entry : std::filesystem::directory_iterator(shots)) {
          const auto name = entry.path().filename().string();
          if (entry.path().extension() == ".json" && std::stoi(name.substr(0, name.find('_'))) > after &&
              name.find("_" + file + ".layout.json") != std::string::npos) {
            found.push_back(entry.path());
          }
        }
        if (!found.empty()) {
          std::sort(found.begin(), found.end());
          std::ifstream in(found.back());
          json layout = json::parse(in, nullptr, false);
          if (!layout.is_discarded()) {
            const auto name = found.back().filename().string();
            lastShot = std::stoi(name.substr(0, name.find('_')));
            auto png = found.back();
            png.replace_extension().replace_extension(".png");
            return std::make_pair(png, layout);
          }
        }
      }
      std::this_thread::sleep_for(100ms);
    }
    return std::nullopt;
  }

  // Every text drawn on a screen, one per line.
  static std::string textsOf(const json& layout) {
    std::string texts;
    for (const auto& t : layout["texts"]) texts += t["text"].get<std::string>() + "\n";
    return texts;
  }
  static bool hasId(const json& layout, const std::string& id) {
    for (const auto& t : layout["texts"]) {
      if (t["id"] == id) return true;
    }
    return false;
  }

  // account -> amount -> the ¥50 preset -> pay: the pay screen's shot.
  std::optional<std::pair<std::filesystem::path, json>> toPayScreen() {
    slot->insert();
    auto account = waitShot("account", lastShot);
    if (!account) return std::nullopt;
    press(account->second, "account.topup");
    auto amount = waitShot("amount", lastShot);
    if (!amount) return std::nullopt;
    press(amount->second, "amount.preset1");  // ¥50
    press(amount->second, "amount.pay");
    return waitShot("pay", lastShot);
  }

  // Presses the button drawn with this text id, with the pointer, in the kiosk's window.
  void press(const json& layout, const std::string& id) {
    for (const auto& t : layout["texts"]) {
      if (t["id"] == id && !t["box"].is_null()) {
        const auto& b = t["box"];
        const int x = static_cast<int>(b[0].get<double>() + b[2].get<double>() / 2);
        const int y = static_cast<int>(b[1].get<double>() + b[3].get<double>() / 2);
        const std::string command = "xdotool mousemove --window " + window + " " + std::to_string(x) + " " +
                                    std::to_string(y) + " sleep 0.15 mousedown 1 sleep 0.15 mouseup 1 sleep 0.1";
        ASSERT_EQ(std::system(command.c_str()), 0) << command;
        return;
      }
    }
    FAIL() << "no button " << id << " on " << layout["screen"];
  }

  std::unique_ptr<Harness> harness;
  std::filesystem::path cardFile;
  std::unique_ptr<CardSlot> slot;
  std::filesystem::path shots;
  pid_t xvfb = -1;
  pid_t kiosk = -1;
  std::string window;
  int lastShot = 0;
};

TEST_F(KioskWindow, AResidentTopsUpByQrAndTheMeterReadingReachesTheCloud) {
  ASSERT_TRUE(waitShot("attract", 0));
  slot->insert();
  auto account = waitShot("account", lastShot);
  ASSERT_TRUE(account) << "no account screen";
  press(account->second, "account.topup");
  auto amount = waitShot("amount", lastShot);
  ASSERT_TRUE(amount) << "the Top up button did nothing";
  press(amount->second, "amount.preset1");  // ¥50
  press(amount->second, "amount.pay");
  auto pay = waitShot("pay", lastShot);
  ASSERT_TRUE(pay) << "no pay screen";

  // The resident's phone scans the QR code off the screen and pays on the page it opens.
  const std::string url = run("zbarimg --raw -q '" + pay->first.string() + "'");
  ASSERT_NE(url.find("/pay/ord_"), std::string::npos) << "QR decoded to: " << url;
  const std::string orderId = url.substr(url.find("/pay/") + 5);
  {
    cloud::test::Browser browser;
    const auto session = cloud::test::tapInPage(browser, url, "#pay");
    EXPECT_EQ(browser.waitFor(session, "document.querySelector('#result') && "
                                       "document.querySelector('#result').textContent"),
              "Payment complete");
  }
  auto done = waitShot("done", lastShot, 60s);
  ASSERT_TRUE(done) << "the kiosk never showed the done screen";
  EXPECT_EQ(harness->orderState(orderId), "DELIVERED");
  // The receipt: the done screen's QR code opens the cloud's receipt page for the order.
  const std::string receipt = run("zbarimg --raw -q '" + done->first.string() + "'");
  ASSERT_EQ(receipt.substr(receipt.find("/receipt/") + 9), orderId) << "QR decoded to: " << receipt;
  const std::string page = run("curl -s '" + receipt + "'");
  EXPECT_NE(page.find("<td id=\"credit\">¥50.00</td>"), std::string::npos) << page;
  EXPECT_NE(page.find("DELIVERED"), std::string::npos) << page;
  const auto tokens = tokensOn(slot->image());
  ASSERT_EQ(tokens.size(), 1U);
  EXPECT_EQ(tokens[0].amount, 5000U);
  // Finished with the card still in the reader: the kiosk asks for it, and starts over only
  // once it is out.
  press(done->second, "done.finish");
  auto takeCard = waitShot("take_card", lastShot);
  ASSERT_TRUE(takeCard) << "Finish with the card in the reader did not ask for it";
  EXPECT_NE(textsOf(takeCard->second).find("Your card is still in the reader"), std::string::npos)
      << textsOf(takeCard->second);
  slot->pull();
  ASSERT_TRUE(waitShot("attract", lastShot));

  // The meter loads the token and writes its reading on the card.
  auto image = slot->image();
  auto id = card::decodeIdFile(image.id);
  ASSERT_TRUE(id);
  card::VirtualCard chip(image);
  card::VirtualMeter meter(card::MeterConfig::fromVendingKey(harness->cloud().vendingKey(), id->meterNumber, id->utility),
                           std::time(nullptr));
  auto visit = meter.insertCard(chip);
  ASSERT_TRUE(visit);
  EXPECT_EQ(visit->loadedAmount, 5000);
  meter.run(6 * 3600, 20);
  ASSERT_TRUE(meter.insertCard(chip));
  ASSERT_TRUE(card::saveCardFile(cardFile, chip.image()));

  // Next insertion: the kiosk shows the meter's balance and the cloud has the reading.
  slot->insert();
  account = waitShot("account", lastShot);
  ASSERT_TRUE(account);
  std::string texts;
  for (const auto& t : account->second["texts"]) texts += t["text"].get<std::string>() + "\n";
  EXPECT_NE(texts.find(app::formatMoney(meter.state().credit)), std::string::npos) << texts;
  cloud::test::KioskClient client(harness->cloud().port(), kKiosk, cloud::test::CloudProcess::kKioskSecret);
  json reading;
  for (int i = 0; i < 50; ++i) {
    auto summary = client.get(std::string("/v1/kiosk/cards/") + kWaterCard);
    reading = summary.body["meter"]["last_reading"];
    if (reading.is_object() && reading.value("remaining", -1) == meter.state().credit) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(reading.is_object()) << "no reading reached the cloud";
  EXPECT_EQ(reading["remaining"], meter.state().credit);
}

// Two orders paid for a card while it was away (the wallets took the money after the resident
// cancelled): the next insertion writes both, and the done screen lists both.
TEST_F(KioskWindow, EveryPaidTokenWaitingForTheCardIsWrittenAtOneInsertion) {
  ASSERT_TRUE(waitShot("attract", 0));
  std::vector<std::string> orders;
  auto pay = toPayScreen();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(pay) << "no pay screen";
    const std::string url = run("zbarimg --raw -q '" + pay->first.string() + "'");
    ASSERT_NE(url.find("/pay/ord_"), std::string::npos) << "QR decoded to: " << url;
    orders.push_back(url.substr(url.find("/pay/") + 5));
    press(pay->second, "common.cancel");
    auto amount = waitShot("amount", lastShot);
    ASSERT_TRUE(amount) << "Cancel did not return to the amount screen";
    if (i == 1) break;
    press(amount->second, "amount.preset1");
    press(amount->second, "amount.pay");
    pay = waitShot("pay", lastShot);
  }
  slot->pull();
  ASSERT_TRUE(waitShot("attract", lastShot));
  for (const auto& order : orders) harness->notifyPaid(order, 5000);

  slot->insert();
  auto done = waitShot("done", lastShot, 60s);
  ASSERT_TRUE(done) << "the paid credit was not written at the insertion";
  const std::string texts = textsOf(done->second);
  EXPECT_NE(texts.find("¥100.00"), std::string::npos) << "not both credits on the done screen:\n" << texts;
  int tokenLines = 0;
  for (const auto& t : done->second["texts"]) {
    if (t["text"].get<std::string>().find("Token #") != std::string::npos) ++tokenLines;
  }
  EXPECT_EQ(tokenLines, 2) << "the receipt does not list both tokens:\n" << texts;
  const auto tokens = tokensOn(slot->image());
  EXPECT_EQ(tokens.size(), 2U) << "only some of the paid tokens were written";
}

// A card whose eight CREDIT records all hold tokens its meter has not loaded yet has no room
// for another: the account screen says so and offers no payment, before the resident pays.
TEST_F(KioskWindow, ACardWithNoRoomForAnotherTokenIsToldSoBeforePaying) {
  ASSERT_TRUE(waitShot("attract", 0));
  slot.reset();
  auto image = card::loadCardFile(cardFile);
  ASSERT_TRUE(image);
  auto id = card::decodeIdFile(image->id);
  ASSERT_TRUE(id);
  for (std::uint32_t sequence = 1; sequence <= card::profile::kCreditRecords; ++sequence) {
    card::CreditToken fields;
    fields.utility = id->utility;
    fields.meterNumber = id->meterNumber;
    fields.sequence = sequence;
    fields.amount = 1000;
    fields.issuedAt = static_cast<std::uint32_t>(std::time(nullptr));
    auto token = card::mintToken(harness->cloud().vendingKey(), fields);
    ASSERT_TRUE(token);
    image->credit[card::creditRecordFor(sequence) - 1U] = card::encodeToken(*token);
  }
  ASSERT_TRUE(card::saveCardFile(cardFile, *image));
  slot = std::make_unique<CardSlot>(harness->pcscd(), cardFile);

  slot->insert();
  auto account = waitShot("account", lastShot);
  ASSERT_TRUE(account) << "no account screen for a full card";
  bool disabled = false;
  for (const auto& t : account->second["texts"]) {
    if (t["id"] == "account.topup") disabled = t.value("disabled", false);
  }
  EXPECT_TRUE(disabled) << "Top up is offered for a card with no room for the token";
  EXPECT_NE(textsOf(account->second).find("insert it into the meter"), std::string::npos)
      << "the screen does not say what to do:\n" << textsOf(account->second);
  press(account->second, "account.topup");
  EXPECT_FALSE(waitShot("amount", lastShot, 3s)) << "the amount screen opened for a full card";
}

// The network goes while the QR code is shown and the resident pays on the phone: the kiosk
// says it cannot reach the cloud, at expiry says it could not confirm the payment (never "not
// charged"), with the order number and the receipt QR code, and when the cloud answers again
// it writes the credit to the card still in the reader.
class KioskWindowOffline : public KioskWindow {
 protected:
  bool throughProxy() const override { return true; }
  std::int64_t orderTtlSeconds() const override { return 40; }
};

TEST_F(KioskWindowOffline, APaymentMadeWhileTheCloudIsUnreachableIsNeverCalledNotCharged) {
  ASSERT_TRUE(waitShot("attract", 0));
  auto pay = toPayScreen();
  ASSERT_TRUE(pay) << "no pay screen";
  const std::string url = run("zbarimg --raw -q '" + pay->first.string() + "'");
  ASSERT_NE(url.find("/pay/ord_"), std::string::npos) << "QR decoded to: " << url;
  const std::string orderId = url.substr(url.find("/pay/") + 5);

  harness->proxy().setDown(true);
  auto lost = waitShot("pay:offline", lastShot, 40s);
  ASSERT_TRUE(lost) << "the pay screen never said it lost contact with the cloud";
  EXPECT_TRUE(hasId(lost->second, "pay.offline")) << textsOf(lost->second);
  harness->pay(orderId);  // on the phone: the wallet reaches the cloud, the kiosk does not

  auto unconfirmed = waitShot("error:unconfirmed", lastShot, 60s);
  ASSERT_TRUE(unconfirmed) << "the kiosk did not say it could not confirm the payment";
  const std::string texts = textsOf(unconfirmed->second);
  EXPECT_EQ(texts.find("nothing was charged"), std::string::npos) << texts;
  EXPECT_NE(texts.find(orderId), std::string::npos) << "no order number on the screen:\n" << texts;
  const std::string receipt = run("zbarimg --raw -q '" + unconfirmed->first.string() + "'");
  EXPECT_NE(receipt.find("/receipt/" + orderId), std::string::npos) << "QR decoded to: " << receipt;
  EXPECT_TRUE(tokensOn(slot->image()).empty());

  // The cloud answers again: paid. The card never left the reader, so the credit goes on it now.
  harness->proxy().setDown(false);
  auto done = waitShot("done", lastShot, 60s);
  ASSERT_TRUE(done) << "the credit found paid was not written to the card in the reader";
  const auto tokens = tokensOn(slot->image());
  ASSERT_EQ(tokens.size(), 1U);
  EXPECT_EQ(tokens[0].amount, 5000U);
  EXPECT_EQ(harness->orderState(orderId), "DELIVERED");
}

// A card read while the cloud is out of reach: the account screen says it is offline, shows
// what it cannot know as unknown (never "no fees", "none yet"), and paying is disabled, with
// the reason, before the resident tries.
TEST_F(KioskWindowOffline, TheOfflineAccountScreenSaysWhatItDoesNotKnowAndOffersNoPayment) {
  ASSERT_TRUE(waitShot("attract", 0));
  ASSERT_TRUE(logged("in use")) << "the kiosk never loaded a config";
  harness->proxy().setDown(true);
  slot->insert();
  auto account = waitShot("account", lastShot);
  ASSERT_TRUE(account) << "no account screen offline";
  const json& layout = account->second;
  const std::string texts = textsOf(layout);
  EXPECT_TRUE(hasId(layout, "account.offline")) << "no offline banner:\n" << texts;
  for (const char* untrue : {"No fees owed", "None yet"}) {
    EXPECT_EQ(texts.find(untrue), std::string::npos) << "offline, the screen says \"" << untrue << "\":\n" << texts;
  }
  int unknown = 0;
  for (const auto& t : layout["texts"]) {
    const std::string id = t["id"];
    if (id == "account.holder.value" || id == "account.address.value") {
      EXPECT_FALSE(t["text"].get<std::string>().empty()) << id << " is blank";
    }
    if (t["text"].get<std::string>().find("nknown") != std::string::npos) ++unknown;
  }
  EXPECT_GE(unknown, 4) << "name, address, fees and top-ups should read as unknown:\n" << texts;
  bool disabled = false;
  for (const auto& t : layout["texts"]) {
    if (t["id"] == "account.topup") disabled = t.value("disabled", false);
  }
  EXPECT_TRUE(disabled) << "the Top up button is offered offline";
  EXPECT_TRUE(hasId(layout, "account.topup_reason")) << "no reason given for the disabled button";
  press(layout, "account.topup");
  EXPECT_FALSE(waitShot("amount", lastShot, 3s)) << "the disabled button opened the amount screen";
  EXPECT_FALSE(waitShot("error:network", lastShot, 1s)) << "the disabled button led to an error";
}

// Maintenance runs its slow work on a worker: a reader test on a card that does not answer,
// and a restart whose last sync the cloud does not answer, leave the window drawing and
// taking presses meanwhile.
class KioskWindowMaintenance : public KioskWindow {
 protected:
  bool throughProxy() const override { return true; }
};

TEST_F(KioskWindowMaintenance, ASlowCardOrASlowCloudNeverHoldsTheScreen) {
  const std::string staffCard = "8800009001";
  CardSlot staff(harness->pcscd(), harness->issue(staffCard));
  ASSERT_TRUE(waitShot("attract", 0));
  ASSERT_TRUE(logged("in use, 1 staff")) << "the kiosk never loaded a config with its staff";
  staff.insert();
  auto dashboard = waitShot("maintenance", lastShot);
  ASSERT_TRUE(dashboard) << "the staff card did not open the dashboard";

  // The reader test meets a card that does not answer: the window still takes the Exit press.
  staff.hold();
  press(dashboard->second, "maint.reader_test");
  for (int i = 0; i < 100 && !staff.holding(); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(staff.holding()) << "the reader test never reached the card";
  press(dashboard->second, "maint.exit");
  const int beforeExit = lastShot;
  const bool left = waitShot("reading", beforeExit, 15s) || waitShot("attract", beforeExit, 1s);
  EXPECT_TRUE(staff.holding()) << "the card was answering again before the screen changed";
  staff.release();
  ASSERT_TRUE(left) << "the dashboard stayed while the reader test waited for the card";
  ASSERT_TRUE(waitShot("attract", beforeExit));

  // Restart: its last sync meets a cloud that does not answer. The button says what is under
  // way, and the language switch still works while the sync waits.
  staff.pull();
  staff.insert();
  dashboard = waitShot("maintenance", lastShot);
  ASSERT_TRUE(dashboard) << "the staff card did not open the dashboard again";
  harness->proxy().setStalled(true);
  press(dashboard->second, "maint.restart");
  for (int i = 0; i < 40 && harness->proxy().stalledRequests() == 0; ++i) std::this_thread::sleep_for(25ms);
  ASSERT_GT(harness->proxy().stalledRequests(), 0) << "the restart sent nothing to the cloud";
  const std::string restarting = pixels();
  press(dashboard->second, "lang.switch");
  const std::string switched = pixels();
  const bool stillWaiting = harness->proxy().stalledRequests() > 0;
  harness->proxy().setStalled(false);
  EXPECT_TRUE(stillWaiting) << "the sync was answered before the screen was looked at";
  EXPECT_NE(switched, restarting) << "the window did not redraw while the restart's sync waited";

  // Then the kiosk restarts itself.
  EXPECT_TRUE(logged("restarting", 10s)) << "the kiosk did not restart after its sync";
}

}  // namespace
}  // namespace kiosk::e2e
