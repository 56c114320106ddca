#pragma once
// A small card for the reader-level tests: SELECT by AID, ECHO, a persistent counter (to see
// whether a torn command ran), and answers with T=0 procedure bytes (61xx, 6Cxx) on demand.

#include <atomic>
#include <cstdint>
#include <mutex>

#include "card/channel.hpp"

namespace kiosk::card::test {

class TestCard final : public CardEmulator {
 public:
  // CLA 0x80 commands.
  static constexpr std::uint8_t kEcho = 0x10;       // data back, 9000
  static constexpr std::uint8_t kLong = 0x12;       // P1P2 bytes, served through 61xx chaining
  static constexpr std::uint8_t kExactLe = 0x14;    // 7 bytes, 6C07 unless Le = 07
  static constexpr std::uint8_t kIncrement = 0x16;  // counter + 1, 9000
  static constexpr std::uint8_t kCounter = 0x18;    // counter as 4 bytes, 9000

  enum class Atr { T0, T1 };
  explicit TestCard(Atr atr = Atr::T1);

  Bytes atr() const override { return m_atr; }
  void powerOn() override;
  void powerOff() override;
  Bytes process(ByteView command) override;

  std::uint32_t counter() const { return m_counter; }
  int powerOns() const { return m_powerOns; }
  // The byte that the kLong payload carries at `index`.
  static std::uint8_t longByte(std::size_t index) {
    return static_cast<std::uint8_t>(index * 7 + 3);
  }

 private:
  Bytes m_atr;
  std::mutex m_mutex;  // the link's thread and the test both look at the card
  Bytes m_pending;     // what GET RESPONSE still has to give
  bool m_selected = false;
  std::atomic<std::uint32_t> m_counter{0};
  std::atomic<int> m_powerOns{0};
};

// The test card's AID.
inline const Bytes kTestAid{0xF0, 0x4B, 0x49, 0x4F, 0x53, 0x4B, 0x54};

}  // namespace kiosk::card::test
