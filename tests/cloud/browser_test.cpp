// The simulated provider's pay page in a real browser: headless Chromium opens the QR URL,
// the test taps Pay through the DevTools protocol (over --remote-debugging-pipe), and the
// order becomes PAID through the provider's signed webhook.

#include "browser.hpp"
#include "tests/support/cloud_fixture.hpp"

#include "protocol/signing.hpp"

#include <gtest/gtest.h>

namespace kiosk::cloud::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(PayPageInBrowser, TappingPayMakesTheOrderPaid) {
  CloudProcess cloud({});
  cloud.seedDemo();
  KioskClient kiosk(cloud.port(), "kiosk-demo", CloudProcess::kKioskSecret);
  auto created = kiosk.post("/v1/kiosk/orders", {{"idempotency_key", protocol::randomHex(8)},
                                                 {"card_number", "8800000003"},
                                                 {"amount", 2000},
                                                 {"challenge", randomChallenge()}});
  ASSERT_EQ(created.status, 201) << created.text;
  const std::string orderId = created.body["order_id"];
  const std::string qrUrl = created.body["qr_url"];

  Browser browser;
  const auto target = browser.send("Target.createTarget", {{"url", qrUrl}});
  const auto attached = browser.send("Target.attachToTarget",
                                     {{"targetId", target["targetId"]}, {"flatten", true}});
  const std::string session = attached["sessionId"];

  // What the resident sees: the amount, the masked account, the two buttons.
  ASSERT_EQ(browser.waitFor(session, "document.readyState === 'complete' && !!document.querySelector('#pay')"),
            true);
  EXPECT_EQ(browser.evaluate(session, "document.querySelector('#amount').textContent"), "¥20.00");
  EXPECT_EQ(browser.evaluate(session, "document.querySelector('#account').textContent"), "AC****01");
  EXPECT_EQ(browser.evaluate(session, "!!document.querySelector('#decline')"), true);

  // Tap the Pay button where it is drawn, as a finger would.
  const auto box = browser.evaluate(
      session, "(() => { const r = document.querySelector('#pay').getBoundingClientRect();"
               " return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()");
  for (const char* type : {"mousePressed", "mouseReleased"}) {
    browser.send("Input.dispatchMouseEvent", {{"type", type}, {"x", box["x"]}, {"y", box["y"]},
                                              {"button", "left"}, {"clickCount", 1}},
                 session);
  }
  EXPECT_EQ(browser.waitFor(session, "document.querySelector('#result') && "
                                     "document.querySelector('#result').textContent"),
            "Payment complete");

  auto order = kiosk.get("/v1/kiosk/orders/" + orderId + "?wait=10&since=CREATED");
  EXPECT_EQ(order.body["state"], "PAID") << order.text;
  AdminClient admin(cloud.port());
  EXPECT_EQ(admin.get("/v1/admin/reconciliation").body["money"]["received"], 2000);
}

}  // namespace
}  // namespace kiosk::cloud::test
