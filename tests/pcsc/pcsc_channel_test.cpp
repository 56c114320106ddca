// PcscChannel through a real pcscd with vpcd, and VpcdLink's planned tears.
#include "card/pcsc/pcsc_channel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "card/vpcd/vpcd_link.hpp"
#include "tests/support/pcscd_server.hpp"
#include "tests/support/test_card.hpp"

namespace kiosk::card::test {
namespace {

using namespace std::chrono_literals;

Bytes selectTestAid() {
  Bytes command(5 + kTestAid.size());
  command[1] = 0xA4;
  command[2] = 0x04;
  command[4] = static_cast<std::uint8_t>(kTestAid.size());
  std::copy(kTestAid.begin(), kTestAid.end(), command.begin() + 5);
  return command;
}

class PcscChannelTest : public ::testing::Test {
 protected:
  void SetUp() override { server.start(); }
  void TearDown() override {
    if (HasFailure()) std::cerr << "pcscd log:\n" << server.logTail();
    channel.reset();
    links.clear();
    server.stop();
  }
  // Inserts `card` in the slot and connects a channel to it.
  void connect(TestCard& target, int slot = 0) {
    links.push_back(std::make_unique<VpcdLink>(target, server.link(slot)));
    links.back()->insert();
    openChannel(slot);
  }
  void openChannel(int slot = 0) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {  // pcscd notices the card at its next presence poll
      auto connected = PcscChannel::connect(server.reader(slot));
      if (connected) {
        channel = std::move(*connected);
        return;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << describe(connected.error());
      std::this_thread::sleep_for(50ms);
    }
  }
  VpcdLink& link() { return *links.front(); }

  PcscdServer& server = PcscdServer::instance();
  // Cards outlive the links that serve them (members are destroyed in reverse order).
  TestCard card;
  TestCard t0Card{TestCard::Atr::T0};
  std::vector<std::unique_ptr<VpcdLink>> links;
  std::unique_ptr<PcscChannel> channel;
};

TEST_F(PcscChannelTest, ExchangesApdusWithTheCard) {
  connect(card);
  EXPECT_EQ(toHex(channel->atr()), toHex(card.atr()));
  EXPECT_EQ(channel->protocol(), PcscChannel::Protocol::T1);
  auto selected = channel->transmit(selectTestAid());
  ASSERT_TRUE(selected);
  EXPECT_EQ(toHex(*selected), "9000");
  auto echoed = channel->transmit(Bytes{0x80, TestCard::kEcho, 0, 0, 3, 0xAA, 0xBB, 0xCC, 0x00});
  ASSERT_TRUE(echoed);
  EXPECT_EQ(toHex(*echoed), "AABBCC9000");
  EXPECT_EQ(channel->exchanges(), 2U);
}

TEST_F(PcscChannelTest, NoCardIsAnError) {
  auto connected = PcscChannel::connect(server.reader(0));
  ASSERT_FALSE(connected);
  EXPECT_EQ(connected.error(), CardError::NoCard);
  auto unknown = PcscChannel::connect("No Such Reader 00 00");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), CardError::NoReader);
}

TEST_F(PcscChannelTest, T0CardChainsGetResponse) {
  connect(t0Card);
  EXPECT_EQ(channel->protocol(), PcscChannel::Protocol::T0);
  ASSERT_TRUE(channel->transmit(selectTestAid()));
  const std::size_t size = 600;  // 61FF, 61FF, 6158: three GET RESPONSE
  auto response = channel->transmit(Bytes{0x80, TestCard::kLong, 0x02, 0x58});
  ASSERT_TRUE(response);
  ASSERT_EQ(response->size(), size + 2);
  for (std::size_t i = 0; i < size; ++i) ASSERT_EQ((*response)[i], TestCard::longByte(i)) << i;
  EXPECT_EQ(toHex(ByteView(*response).last(2)), "9000");
  EXPECT_EQ(channel->exchanges(), 1U + 1U + 3U);
}

TEST_F(PcscChannelTest, WrongLeIsResentWithTheLengthTheCardNames) {
  connect(t0Card);
  ASSERT_TRUE(channel->transmit(selectTestAid()));
  auto response = channel->transmit(Bytes{0x80, TestCard::kExactLe, 0, 0, 0x00});
  ASSERT_TRUE(response);
  EXPECT_EQ(toHex(*response), "010203040506079000");
  EXPECT_EQ(channel->exchanges(), 1U + 2U);
  // Case 1 (no Le at all) gets one appended.
  response = channel->transmit(Bytes{0x80, TestCard::kExactLe, 0, 0});
  ASSERT_TRUE(response);
  EXPECT_EQ(toHex(*response), "010203040506079000");
}

TEST_F(PcscChannelTest, PulledCardIsRemoved) {
  connect(card);
  ASSERT_TRUE(channel->transmit(selectTestAid()));
  link().pull();
  std::this_thread::sleep_for(1s);
  auto response = channel->transmit(Bytes{0x80, TestCard::kCounter, 0, 0, 4});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error(), CardError::Removed);
}

TEST_F(PcscChannelTest, TearBeforeTheCardProcessesTheCommand) {
  connect(card);
  ASSERT_TRUE(channel->transmit(selectTestAid()));
  link().tearAt(link().apdus(), VpcdLink::TearPoint::BeforeProcess);
  auto response = channel->transmit(Bytes{0x80, TestCard::kIncrement, 0, 0});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error(), CardError::Removed);
  EXPECT_TRUE(link().torn());
  EXPECT_EQ(card.counter(), 0U);
}

TEST_F(PcscChannelTest, TearAfterTheCardProcessedTheCommand) {
  connect(card);
  ASSERT_TRUE(channel->transmit(selectTestAid()));
  link().tearAt(link().apdus(), VpcdLink::TearPoint::AfterProcess);
  auto response = channel->transmit(Bytes{0x80, TestCard::kIncrement, 0, 0});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error(), CardError::Removed);
  EXPECT_EQ(card.counter(), 1U);  // the write happened; only its answer was lost

  // Reinserted, the card shows the effect.
  channel.reset();
  ASSERT_TRUE(server.waitCard(0, false, 5s));
  link().insert();
  openChannel();
  ASSERT_TRUE(channel->transmit(selectTestAid()));
  auto counter = channel->transmit(Bytes{0x80, TestCard::kCounter, 0, 0, 4});
  ASSERT_TRUE(counter);
  EXPECT_EQ(toHex(*counter), "000000019000");
}

TEST_F(PcscChannelTest, ResetByAnotherApplicationReconnects) {
  connect(card);
  ASSERT_TRUE(channel->transmit(selectTestAid()));
  auto other = PcscChannel::connect(server.reader(0));
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->reset());
  auto response = channel->transmit(Bytes{0x80, TestCard::kCounter, 0, 0, 4});
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error(), CardError::Reset);
  // Reconnected: the exchange starts again from SELECT.
  auto selected = channel->transmit(selectTestAid());
  ASSERT_TRUE(selected) << describe(selected.error());
  EXPECT_EQ(toHex(*selected), "9000");
}

TEST_F(PcscChannelTest, TransactionsKeepOtherApplicationsOut) {
  connect(card);
  auto other = PcscChannel::connect(server.reader(0));
  ASSERT_TRUE(other);
  ASSERT_TRUE(channel->beginTransaction());
  std::atomic<bool> otherIn{false};
  std::thread second([&] {
    if ((*other)->beginTransaction()) otherIn = true;
    (void)(*other)->endTransaction();
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(otherIn);  // blocked while this channel holds the card
  ASSERT_TRUE(channel->transmit(selectTestAid()));
  ASSERT_TRUE(channel->endTransaction());
  second.join();
  EXPECT_TRUE(otherIn);
}

TEST_F(PcscChannelTest, ExclusiveConnectionKeepsOtherApplicationsOutWithoutTransactions) {
  links.push_back(std::make_unique<VpcdLink>(card, server.link(0)));
  links.back()->insert();
  ASSERT_TRUE(server.waitCard(0, true, 5s));
  auto exclusive = PcscChannel::connect(server.reader(0), PcscChannel::Share::Exclusive);
  ASSERT_TRUE(exclusive) << describe(exclusive.error());
  EXPECT_EQ((*exclusive)->share(), PcscChannel::Share::Exclusive);
  auto other = PcscChannel::connect(server.reader(0));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error(), CardError::Sharing);

  // Transactions are already implied: they succeed and the card answers in between.
  ASSERT_TRUE((*exclusive)->beginTransaction());
  auto selected = (*exclusive)->transmit(selectTestAid());
  ASSERT_TRUE(selected) << describe(selected.error());
  EXPECT_EQ(toHex(*selected), "9000");
  ASSERT_TRUE((*exclusive)->endTransaction());

  exclusive->reset();  // disconnects: the card is free again
  openChannel();
  ASSERT_TRUE(channel->transmit(selectTestAid()));
}

TEST_F(PcscChannelTest, ExclusiveConnectionIsRefusedWhileAnotherApplicationIsConnected) {
  connect(card);  // shared
  auto exclusive = PcscChannel::connect(server.reader(0), PcscChannel::Share::Exclusive);
  ASSERT_FALSE(exclusive);
  EXPECT_EQ(exclusive.error(), CardError::Sharing);
  channel.reset();
  auto alone = PcscChannel::connect(server.reader(0), PcscChannel::Share::Exclusive);
  ASSERT_TRUE(alone) << describe(alone.error());
}

TEST_F(PcscChannelTest, PcscdGoneIsNoServiceAndANewChannelWorksAfterRestart) {
  connect(card);
  ASSERT_TRUE(channel->transmit(selectTestAid()));
  server.kill();
  auto response = channel->transmit(selectTestAid());
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error(), CardError::NoService);
  auto refused = PcscChannel::connect(server.reader(0));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), CardError::NoService);

  server.start();
  ASSERT_TRUE(server.waitCard(0, true, 5s));  // the card reconnects to the new vpcd by itself
  openChannel();
  auto selected = channel->transmit(selectTestAid());
  ASSERT_TRUE(selected);
  EXPECT_EQ(toHex(*selected), "9000");
}

}  // namespace
}  // namespace kiosk::card::test
