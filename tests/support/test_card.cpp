#include "tests/support/test_card.hpp"

#include <algorithm>

namespace kiosk::card::test {

namespace {

Bytes withSw(Bytes data, std::uint16_t sw) {
  data.push_back(static_cast<std::uint8_t>(sw >> 8));
  data.push_back(static_cast<std::uint8_t>(sw & 0xFF));
  return data;
}

// An ATR with the given first-offered protocol and a few historical bytes; T=1 needs TCK.
Bytes makeAtr(TestCard::Atr kind) {
  const Bytes historical{0x4B, 0x49, 0x4F, 0x53, 0x4B};  // "KIOSK"
  const auto k = static_cast<std::uint8_t>(historical.size());
  if (kind == TestCard::Atr::T0) {
    Bytes atr{0x3B, k};  // TS, T0 (no interface bytes: T=0 only)
    atr.insert(atr.end(), historical.begin(), historical.end());
    return atr;
  }
  Bytes atr{0x3B, static_cast<std::uint8_t>(0x80 | k), 0x01};  // TD1: T=1
  atr.insert(atr.end(), historical.begin(), historical.end());
  std::uint8_t tck = 0;
  for (std::size_t i = 1; i < atr.size(); ++i) tck ^= atr[i];
  atr.push_back(tck);
  return atr;
}

}  // namespace

TestCard::TestCard(Atr atr) : m_atr(makeAtr(atr)) {}

void TestCard::powerOn() {
  std::lock_guard lock(m_mutex);
  ++m_powerOns;
  m_selected = false;
  m_pending.clear();
}

void TestCard::powerOff() {
  std::lock_guard lock(m_mutex);
  m_selected = false;
  m_pending.clear();
}

Bytes TestCard::process(ByteView command) {
  std::lock_guard lock(m_mutex);
  if (command.size() < 4) return withSw({}, 0x6700);
  const std::uint8_t cla = command[0];
  const std::uint8_t ins = command[1];
  const ByteView body = command.subspan(4);
  const std::size_t lc = body.size() > 1 ? body[0] : 0;
  const ByteView data = body.size() > 1 ? body.subspan(1, std::min(lc, body.size() - 1)) : ByteView{};
  const std::uint8_t le = body.size() == 1 ? body[0] : (body.size() == lc + 2 ? body.back() : 0);

  if (cla == 0x00 && ins == 0xA4) {
    m_selected = std::equal(data.begin(), data.end(), kTestAid.begin(), kTestAid.end());
    return withSw({}, m_selected ? 0x9000 : 0x6A82);
  }
  if ((cla & 0xFC) == 0x00 && ins == 0xC0) {
    if (m_pending.empty()) return withSw({}, 0x6985);
    const std::size_t want = le == 0 ? 256 : le;
    const std::size_t give = std::min(want, m_pending.size());
    Bytes out(m_pending.begin(), m_pending.begin() + static_cast<std::ptrdiff_t>(give));
    m_pending.erase(m_pending.begin(), m_pending.begin() + static_cast<std::ptrdiff_t>(give));
    if (m_pending.empty()) return withSw(std::move(out), 0x9000);
    return withSw(std::move(out),
                  static_cast<std::uint16_t>(0x6100 | std::min<std::size_t>(m_pending.size(), 0xFF)));
  }
  m_pending.clear();
  if (cla != 0x80) return withSw({}, 0x6E00);
  if (!m_selected) return withSw({}, 0x6985);
  switch (ins) {
    case kEcho:
      return withSw(Bytes(data.begin(), data.end()), 0x9000);
    case kLong: {
      const std::size_t size = (std::size_t{command[2]} << 8) | command[3];
      for (std::size_t i = 0; i < size; ++i) m_pending.push_back(longByte(i));
      return withSw({}, static_cast<std::uint16_t>(0x6100 | std::min<std::size_t>(size, 0xFF)));
    }
    case kExactLe:
      if (le != 7) return withSw({}, 0x6C07);
      return withSw({1, 2, 3, 4, 5, 6, 7}, 0x9000);
    case kIncrement:
      ++m_counter;
      return withSw({}, 0x9000);
    case kCounter: {
      const std::uint32_t value = m_counter;
      return withSw({static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>(value >> 16),
                     static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)},
                    0x9000);
    }
    default:
      return withSw({}, 0x6D00);
  }
}

}  // namespace kiosk::card::test
