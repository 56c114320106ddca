// VpcdLink's side of the vpcd protocol against an in-process stand-in for vpcd (a TCP
// listener), and the mapping of PC/SC return codes: no pcscd needed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <winscard.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "card/pcsc/pcsc_error.hpp"
#include "card/vpcd/vpcd_link.hpp"
#include "tests/support/test_card.hpp"

namespace kiosk::card::test {
namespace {

using namespace std::chrono_literals;

// Plays vpcd: listens, accepts the card, sends framed messages and reads the answers.
class FakeVpcd {
 public:
  FakeVpcd() {
    m_listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    EXPECT_EQ(::bind(m_listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(m_listener, 1), 0);
    EXPECT_EQ(::getsockname(m_listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
    m_port = ntohs(address.sin_port);
  }
  ~FakeVpcd() {
    if (m_card >= 0) ::close(m_card);
    ::close(m_listener);
  }
  FakeVpcd(const FakeVpcd&) = delete;
  FakeVpcd& operator=(const FakeVpcd&) = delete;

  std::uint16_t port() const { return m_port; }
  void accept() {
    m_card = ::accept(m_listener, nullptr, nullptr);
    ASSERT_GE(m_card, 0);
    timeval timeout{5, 0};
    ::setsockopt(m_card, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  void send(const Bytes& payload) {
    // Length and payload in two writes, as vpcd does.
    const std::uint8_t header[2] = {static_cast<std::uint8_t>(payload.size() >> 8),
                                    static_cast<std::uint8_t>(payload.size() & 0xFF)};
    ASSERT_EQ(::send(m_card, header, 2, MSG_NOSIGNAL), 2);
    ASSERT_EQ(::send(m_card, payload.data(), payload.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(payload.size()));
  }
  // The next framed answer; nullopt when the card closed the connection.
  std::optional<Bytes> receive() {
    std::uint8_t header[2];
    if (!readFull(header, 2)) return std::nullopt;
    Bytes payload((std::size_t{header[0]} << 8) | header[1]);
    if (!readFull(payload.data(), payload.size())) return std::nullopt;
    return payload;
  }
  std::optional<Bytes> exchange(const Bytes& apdu) {
    send(apdu);
    return receive();
  }

 private:
  bool readFull(std::uint8_t* out, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
      const ssize_t got = ::recv(m_card, out + done, size - done, 0);
      if (got <= 0) return false;
      done += static_cast<std::size_t>(got);
    }
    return true;
  }

  int m_listener = -1;
  int m_card = -1;
  std::uint16_t m_port = 0;
};

Bytes selectTestAid() {
  Bytes command(5 + kTestAid.size());
  command[1] = 0xA4;
  command[2] = 0x04;
  command[4] = static_cast<std::uint8_t>(kTestAid.size());
  std::copy(kTestAid.begin(), kTestAid.end(), command.begin() + 5);
  return command;
}

TEST(VpcdProtocol, AnswersControlsAndApdus) {
  FakeVpcd vpcd;
  TestCard card;
  VpcdLink link(card, {"127.0.0.1", vpcd.port()});
  link.insert();
  vpcd.accept();
  ASSERT_TRUE(link.waitConnected(5s));

  vpcd.send({4});  // ATR: answered
  EXPECT_EQ(toHex(vpcd.receive().value_or(Bytes{})), toHex(card.atr()));
  vpcd.send({1});  // power on: no answer
  EXPECT_EQ(toHex(vpcd.exchange(selectTestAid()).value_or(Bytes{})), "9000");
  vpcd.send({2});  // reset: the selection is gone
  EXPECT_EQ(toHex(vpcd.exchange({0x80, TestCard::kCounter, 0, 0, 4}).value_or(Bytes{})), "6985");
  EXPECT_EQ(card.powerOns(), 2);

  // A payload longer than 255 bytes keeps its two-byte length both ways.
  ASSERT_EQ(toHex(vpcd.exchange(selectTestAid()).value_or(Bytes{})), "9000");
  Bytes echo{0x80, TestCard::kEcho, 0, 0, 0xFF};
  echo.resize(5 + 255, 0x5A);
  auto echoed = vpcd.exchange(echo);
  ASSERT_TRUE(echoed);
  ASSERT_EQ(echoed->size(), 257U);
  EXPECT_EQ((*echoed)[254], 0x5A);
  EXPECT_EQ(link.apdus(), 4U);

  vpcd.send({0});  // power off
  link.pull();
  EXPECT_FALSE(vpcd.receive());  // pulled: the connection is closed
}

TEST(VpcdProtocol, TearsAtTheChosenApdu) {
  FakeVpcd vpcd;
  TestCard card;
  VpcdLink link(card, {"127.0.0.1", vpcd.port()});
  link.insert();
  vpcd.accept();
  vpcd.send({1});
  ASSERT_TRUE(vpcd.exchange(selectTestAid()));
  link.tearAt(2, VpcdLink::TearPoint::AfterProcess);
  ASSERT_TRUE(vpcd.exchange({0x80, TestCard::kIncrement, 0, 0}));   // APDU 1: answered
  EXPECT_FALSE(vpcd.exchange({0x80, TestCard::kIncrement, 0, 0}));  // APDU 2: run, no answer
  EXPECT_TRUE(link.waitTorn(1s));
  EXPECT_FALSE(link.inserted());
  EXPECT_EQ(card.counter(), 2U);
}

TEST(VpcdProtocol, KeepsTheCardInTheSlotWhileVpcdIsAway) {
  TestCard card;
  auto vpcd = std::make_unique<FakeVpcd>();
  VpcdLink link(card, {"127.0.0.1", vpcd->port()});
  link.insert();
  vpcd->accept();
  ASSERT_TRUE(link.waitConnected(5s));
  vpcd.reset();  // vpcd goes away (pcscd stopped)
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (link.connected() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_FALSE(link.connected());
  EXPECT_TRUE(link.inserted());  // still in the slot, waiting for the reader to come back
  link.pull();
  EXPECT_FALSE(link.inserted());
}

TEST(PcscErrors, MapOntoCardErrors) {
  EXPECT_EQ(fromPcsc(SCARD_E_NO_SERVICE, "test"), CardError::NoService);
  EXPECT_EQ(fromPcsc(SCARD_E_SERVICE_STOPPED, "test"), CardError::NoService);
  EXPECT_EQ(fromPcsc(SCARD_E_INVALID_HANDLE, "test"), CardError::NoService);
  EXPECT_EQ(fromPcsc(SCARD_F_COMM_ERROR, "test"), CardError::NoService);
  EXPECT_EQ(fromPcsc(SCARD_E_NO_READERS_AVAILABLE, "test"), CardError::NoReader);
  EXPECT_EQ(fromPcsc(SCARD_E_UNKNOWN_READER, "test"), CardError::NoReader);
  EXPECT_EQ(fromPcsc(SCARD_E_NO_SMARTCARD, "test"), CardError::NoCard);
  EXPECT_EQ(fromPcsc(SCARD_W_REMOVED_CARD, "test"), CardError::Removed);
  EXPECT_EQ(fromPcsc(SCARD_W_RESET_CARD, "test"), CardError::Reset);
  EXPECT_EQ(fromPcsc(SCARD_W_UNRESPONSIVE_CARD, "test"), CardError::Unresponsive);
  EXPECT_EQ(fromPcsc(SCARD_E_PROTO_MISMATCH, "test"), CardError::Unresponsive);
  EXPECT_EQ(fromPcsc(SCARD_E_SHARING_VIOLATION, "test"), CardError::Sharing);
  EXPECT_EQ(fromPcsc(SCARD_E_TIMEOUT, "test"), CardError::Timeout);
  EXPECT_EQ(fromPcsc(SCARD_E_CANCELLED, "test"), CardError::Cancelled);
  EXPECT_EQ(fromPcsc(SCARD_E_INSUFFICIENT_BUFFER, "test"), CardError::Protocol);
  EXPECT_EQ(fromPcsc(SCARD_W_SECURITY_VIOLATION, "test"), CardError::AccessDenied);
  EXPECT_EQ(fromPcsc(SCARD_E_NOT_TRANSACTED, "test"), CardError::Transport);
  EXPECT_EQ(fromPcsc(SCARD_F_INTERNAL_ERROR, "test"), CardError::Transport);
  EXPECT_EQ(fromPcsc(0x7FFFFFFF, "test"), CardError::Transport);  // a code pcsc-lite lacks
}

}  // namespace
}  // namespace kiosk::card::test
