#include "card/vpcd/vpcd_link.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "spdlog/spdlog.h"

namespace kiosk::card {

namespace {

constexpr std::uint8_t kPowerOff = 0;
constexpr std::uint8_t kPowerOn = 1;
constexpr std::uint8_t kReset = 2;
constexpr std::uint8_t kAtr = 4;
constexpr std::chrono::milliseconds kReconnectDelay{50};

void setOption(int fd, int level, int name) {
  const int one = 1;
  (void)setsockopt(fd, level, name, &one, sizeof one);
}

// Reads exactly `size` bytes. vpcd writes the length and the APDU separately, so without
// TCP_QUICKACK the kernel's delayed ACK holds the second write for up to 40 ms; quick ACK mode
// is not sticky, hence before every recv.
bool readFull(int fd, std::uint8_t* out, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    setOption(fd, IPPROTO_TCP, TCP_QUICKACK);
    const ssize_t got = ::recv(fd, out + done, size - done, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    done += static_cast<std::size_t>(got);
  }
  return true;
}

bool sendFrame(int fd, ByteView payload) {
  Bytes frame;
  frame.reserve(payload.size() + 2);
  frame.push_back(static_cast<std::uint8_t>(payload.size() >> 8));
  frame.push_back(static_cast<std::uint8_t>(payload.size() & 0xFF));
  frame.insert(frame.end(), payload.begin(), payload.end());
  std::size_t done = 0;
  while (done < frame.size()) {
    const ssize_t sent = ::send(fd, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    done += static_cast<std::size_t>(sent);
  }
  return true;
}

}  // namespace

VpcdLink::VpcdLink(CardEmulator& card, Options options)
    : m_card(card), m_options(std::move(options)) {}

VpcdLink::~VpcdLink() { pull(); }

void VpcdLink::insert() {
  pull();  // joins a thread left by a tear
  std::lock_guard lock(m_mutex);
  m_inserted = true;
  m_torn = false;
  m_apdus = 0;
  m_cardTime = {};
  m_thread = std::thread([this] { run(); });
}

void VpcdLink::pull() {
  {
    std::lock_guard lock(m_mutex);
    m_inserted = false;
    if (m_fd >= 0) (void)::shutdown(m_fd, SHUT_RDWR);  // wakes the thread's recv
    m_changed.notify_all();
  }
  if (m_thread.joinable()) m_thread.join();
}

bool VpcdLink::inserted() const {
  std::lock_guard lock(m_mutex);
  return m_inserted;
}

bool VpcdLink::connected() const {
  std::lock_guard lock(m_mutex);
  return m_connected;
}

bool VpcdLink::waitConnected(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(m_mutex);
  return m_changed.wait_for(lock, timeout, [this] { return m_connected; });
}

std::uint64_t VpcdLink::apdus() const {
  std::lock_guard lock(m_mutex);
  return m_apdus;
}

void VpcdLink::tearAt(std::uint64_t apdu, TearPoint point) {
  std::lock_guard lock(m_mutex);
  m_tear = std::make_pair(apdu, point);
  m_torn = false;
}

std::chrono::nanoseconds VpcdLink::cardTime() const {
  std::lock_guard lock(m_mutex);
  return m_cardTime;
}

bool VpcdLink::torn() const {
  std::lock_guard lock(m_mutex);
  return m_torn;
}

bool VpcdLink::waitTorn(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(m_mutex);
  return m_changed.wait_for(lock, timeout, [this] { return m_torn; });
}

int VpcdLink::connectOnce() const {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(m_options.port);
  if (getaddrinfo(m_options.host.c_str(), port.c_str(), &hints, &found) != 0) return -1;
  int fd = -1;
  for (addrinfo* at = found; at != nullptr; at = at->ai_next) {
    fd = ::socket(at->ai_family, at->ai_socktype | SOCK_CLOEXEC, at->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, at->ai_addr, at->ai_addrlen) == 0) break;
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  if (fd >= 0) setOption(fd, IPPROTO_TCP, TCP_NODELAY);  // the answer goes out in one segment
  return fd;
}

void VpcdLink::run() {
  for (;;) {
    const int fd = connectOnce();
    {
      std::unique_lock lock(m_mutex);
      if (!m_inserted) {
        if (fd >= 0) ::close(fd);
        return;
      }
      if (fd < 0) {
        // vpcd is not listening (pcscd not started yet, or restarting): the card stays in
        // the slot and shows up once the reader is back.
        m_changed.wait_for(lock, kReconnectDelay, [this] { return !m_inserted; });
        continue;
      }
      m_fd = fd;
      m_connected = true;
      m_changed.notify_all();
    }
    spdlog::debug("vpcd: card connected to {}:{}", m_options.host, m_options.port);
    const bool out = serve(fd);
    {
      std::lock_guard lock(m_mutex);
      m_fd = -1;
      m_connected = false;
      m_changed.notify_all();
    }
    ::close(fd);
    m_card.powerOff();  // a card out of the slot has no power
    if (out) return;
  }
}

bool VpcdLink::serve(int fd) {
  Bytes payload;
  for (;;) {
    std::uint8_t header[2];
    bool ok = readFull(fd, header, sizeof header);
    const std::size_t length = (std::size_t{header[0]} << 8) | header[1];
    if (ok) {
      payload.resize(length);
      ok = readFull(fd, payload.data(), length);
    }
    if (!ok) {
      std::lock_guard lock(m_mutex);
      return !m_inserted;  // pulled, or vpcd closed (pcscd stopped): then reconnect
    }

    if (length == 1) {
      switch (payload[0]) {
        case kPowerOff: m_card.powerOff(); break;
        case kPowerOn: m_card.powerOn(); break;
        case kReset:
          m_card.powerOff();
          m_card.powerOn();
          break;
        case kAtr:
          if (!sendFrame(fd, m_card.atr())) return false;
          break;
        default: spdlog::warn("vpcd: unknown control byte {}", payload[0]); break;
      }
      continue;
    }

    std::optional<TearPoint> tear;
    {
      std::lock_guard lock(m_mutex);
      const std::uint64_t index = m_apdus++;
      if (m_tear && m_tear->first == index) {
        tear = m_tear->second;
        m_tear.reset();
      }
    }
    const auto tearNow = [this] {
      std::lock_guard lock(m_mutex);
      m_torn = true;
      m_inserted = false;
      m_changed.notify_all();
      return true;
    };
    if (tear == TearPoint::BeforeProcess) return tearNow();
    const auto started = std::chrono::steady_clock::now();
    const Bytes response = m_card.process(payload);
    {
      std::lock_guard lock(m_mutex);
      m_cardTime += std::chrono::steady_clock::now() - started;
    }
    // An emulator that answers nothing has left the field on its own (the virtual card's
    // armed tear): the same as a pull.
    if (tear == TearPoint::AfterProcess || response.empty()) return tearNow();
    if (!sendFrame(fd, response)) return false;
  }
}

}  // namespace kiosk::card
