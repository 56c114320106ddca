// Reader and card events from a ReaderMonitor, against a real pcscd with vpcd.
#include "card/pcsc/reader_monitor.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "card/pcsc/pcsc_channel.hpp"
#include "card/vpcd/vpcd_link.hpp"
#include "event_log.hpp"
#include "tests/support/pcscd_server.hpp"
#include "tests/support/test_card.hpp"

namespace kiosk::card::test {
namespace {

using namespace std::chrono_literals;

class ReaderMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override { server.start(); }
  void TearDown() override {
    if (HasFailure()) std::cerr << "pcscd log:\n" << server.logTail() << "events:\n" << events.dump();
    monitor.stop();
    server.stop();
  }
  auto inReader(const std::string& reader) {
    return [reader](const auto& event) { return event.reader == reader; };
  }

  PcscdServer& server = PcscdServer::instance();
  EventLog events;
  ReaderMonitor monitor{events.callback(), ReaderMonitor::Options{50ms, 400ms, 200ms}};
};

TEST_F(ReaderMonitorTest, ReportsTheVirtualReaders) {
  monitor.start();
  EXPECT_TRUE(events.waitFor<ReaderAdded>(inReader(server.reader(0))));
  EXPECT_TRUE(events.waitFor<ReaderAdded>(inReader(server.reader(1))));
  EXPECT_TRUE(monitor.hotplugSupported());
  const auto readers = monitor.readers();
  EXPECT_NE(std::find(readers.begin(), readers.end(), server.reader(0)), readers.end());
  EXPECT_TRUE(events.all().size() == 2) << events.dump();  // no card events for empty readers
}

TEST_F(ReaderMonitorTest, ReportsCardInsertedWithAtrAndRemoved) {
  TestCard card;
  VpcdLink link(card, server.link(0));
  monitor.start();
  ASSERT_TRUE(events.waitFor<ReaderAdded>(inReader(server.reader(0))));
  link.insert();
  const auto inserted = events.waitFor<CardInserted>(inReader(server.reader(0)));
  ASSERT_TRUE(inserted);
  EXPECT_EQ(toHex(inserted->atr), toHex(card.atr()));
  link.pull();
  EXPECT_TRUE(events.waitFor<CardRemoved>(inReader(server.reader(0))));
  // The other slot saw nothing.
  for (const auto& event : events.all()) {
    if (const auto* other = std::get_if<CardInserted>(&event)) {
      EXPECT_EQ(other->reader, server.reader(0));
    }
  }
}

TEST_F(ReaderMonitorTest, ReportsACardAlreadyPresentAtStart) {
  TestCard card;
  VpcdLink link(card, server.link(1));
  link.insert();
  ASSERT_TRUE(link.waitConnected(5s));
  std::this_thread::sleep_for(1s);  // pcscd polls vpcd every 400 ms
  monitor.start();
  EXPECT_TRUE(events.waitFor<CardInserted>(inReader(server.reader(1))));
}

// A card pulled and put back while the application was busy (the monitor's consumer blocked)
// still shows as a removal and an insertion, from pcscd's event counter.
TEST_F(ReaderMonitorTest, DetectsAFastPullAndReinsert) {
  TestCard card;
  VpcdLink link(card, server.link(0));
  std::mutex busy;
  std::unique_lock hold(busy, std::defer_lock);
  ReaderMonitor slow(
      [&](const ReaderEvent& event) {
        events.push(event);
        if (std::holds_alternative<CardInserted>(event)) std::lock_guard wait(busy);
      },
      ReaderMonitor::Options{50ms, 400ms, 200ms});
  link.insert();
  ASSERT_TRUE(link.waitConnected(5s));
  std::this_thread::sleep_for(1s);
  hold.lock();  // the consumer blocks on the first insertion
  slow.start();
  ASSERT_TRUE(events.waitFor<CardInserted>(inReader(server.reader(0))));
  link.pull();
  std::this_thread::sleep_for(1200ms);  // pcscd sees the card go...
  link.insert();
  ASSERT_TRUE(link.waitConnected(5s));
  std::this_thread::sleep_for(1200ms);  // ...and come back
  hold.unlock();
  EXPECT_TRUE(events.waitFor<CardRemoved>(inReader(server.reader(0))));
  EXPECT_TRUE(events.waitFor<CardInserted>(inReader(server.reader(0))));
  slow.stop();
}

// pcscd 1.9.9 reports reader hotplug; the polling fallback (for a service that does not) must
// see the same readers and cards.
TEST_F(ReaderMonitorTest, PollingFallbackSeesReadersAndCards) {
  EventLog polled;
  ReaderMonitor::Options options{50ms, 400ms, 200ms};
  options.useHotplug = false;
  ReaderMonitor polling(polled.callback(), options);
  polling.start();
  ASSERT_TRUE(polled.waitFor<ReaderAdded>(inReader(server.reader(0))));
  EXPECT_FALSE(polling.hotplugSupported());
  TestCard card;
  VpcdLink link(card, server.link(0));
  link.insert();
  EXPECT_TRUE(polled.waitFor<CardInserted>(inReader(server.reader(0))));
  link.pull();
  EXPECT_TRUE(polled.waitFor<CardRemoved>(inReader(server.reader(0))));
  server.stop();
  EXPECT_TRUE(polled.waitFor<ServiceLost>());
  EXPECT_TRUE(polled.waitFor<ReaderRemoved>(inReader(server.reader(0))));
  server.start();
  EXPECT_TRUE(polled.waitFor<ReaderAdded>(inReader(server.reader(0))));
  const auto before = std::chrono::steady_clock::now();
  polling.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
}

TEST_F(ReaderMonitorTest, RecoversWhenPcscdRestartsUnderIt) {
  TestCard card;
  VpcdLink link(card, server.link(0));
  link.insert();
  monitor.start();
  ASSERT_TRUE(events.waitFor<CardInserted>(inReader(server.reader(0))));

  server.stop();
  ASSERT_TRUE(events.waitFor<ServiceLost>());
  EXPECT_TRUE(events.waitFor<CardRemoved>(inReader(server.reader(0))));
  std::this_thread::sleep_for(500ms);  // a few failed attempts with backoff
  server.start();
  EXPECT_TRUE(events.waitFor<ServiceRestored>());
  const auto again = events.waitFor<CardInserted>(inReader(server.reader(0)));
  ASSERT_TRUE(again);
  EXPECT_EQ(toHex(again->atr), toHex(card.atr()));

  // And the card answers through the new pcscd.
  auto channel = PcscChannel::connect(server.reader(0));
  ASSERT_TRUE(channel) << describe(channel.error());
  auto selected = (*channel)->transmit(Bytes{0x00, 0xA4, 0x04, 0x00, 0x07, 0xF0, 0x4B, 0x49, 0x4F,
                                             0x53, 0x4B, 0x54});
  ASSERT_TRUE(selected);
  EXPECT_EQ(toHex(*selected), "9000");
}

TEST_F(ReaderMonitorTest, RecoversWhenPcscdIsKilled) {
  TestCard card;
  VpcdLink link(card, server.link(0));
  link.insert();
  monitor.start();
  ASSERT_TRUE(events.waitFor<CardInserted>(inReader(server.reader(0))));
  server.kill();
  ASSERT_TRUE(events.waitFor<ServiceLost>());
  server.start();
  EXPECT_TRUE(events.waitFor<ServiceRestored>());
  EXPECT_TRUE(events.waitFor<CardInserted>(inReader(server.reader(0))));
}

TEST_F(ReaderMonitorTest, WaitsForAServiceThatIsNotYetRunning) {
  server.stop();
  monitor.start();
  ASSERT_TRUE(events.waitFor<ServiceLost>());
  const auto lost = std::get<ServiceLost>(events.all().front());
  EXPECT_EQ(lost.reason, CardError::NoService);
  server.start();
  EXPECT_TRUE(events.waitFor<ServiceRestored>());
  EXPECT_TRUE(events.waitFor<ReaderAdded>(inReader(server.reader(0))));
}

TEST_F(ReaderMonitorTest, StopsPromptlyWhileWaiting) {
  monitor.start();
  ASSERT_TRUE(events.waitFor<ReaderAdded>(inReader(server.reader(1))));
  std::this_thread::sleep_for(200ms);  // the worker is blocked in SCardGetStatusChange
  const auto before = std::chrono::steady_clock::now();
  monitor.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
}

}  // namespace
}  // namespace kiosk::card::test
