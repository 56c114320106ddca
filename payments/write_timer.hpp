#pragma once
// Where one write's time goes, from the long poll answering PAID to the token read back on the
// card: the card's exchanges, the cloud, the wait for the paid step's commit. For the engine's
// lastWriteTiming() and the benchmark.

#include <chrono>
#include <optional>
#include <utility>

namespace kiosk::payments {

struct WriteTiming {
  std::chrono::nanoseconds total{0};  // from the long poll answering PAID to the read-back
  std::chrono::nanoseconds cloud{0};  // of which waiting for the cloud
  std::chrono::nanoseconds card{0};   // of which APDU exchanges
  std::chrono::nanoseconds journal{0};  // of which waiting for the paid step's commit
};

class WriteTimer {
 public:
  using Clock = std::chrono::steady_clock;

  WriteTimer() = default;  // off: this kiosk did not see the payment, so there is no start
  explicit WriteTimer(Clock::time_point paidAt) : m_paidAt(paidAt) {}

  // Runs `call` and counts its time as the card's (an APDU exchange) or the cloud's.
  template <class Call>
  auto card(Call&& call) {
    return timed(m_spent.card, std::forward<Call>(call));
  }
  template <class Call>
  auto cloud(Call&& call) {
    return timed(m_spent.cloud, std::forward<Call>(call));
  }
  void journalWaited(Clock::duration waited) { m_spent.journal += waited; }

  // At the read-back; nullopt when off.
  std::optional<WriteTiming> finish() const {
    if (!m_paidAt) return std::nullopt;
    WriteTiming timing = m_spent;
    timing.total = Clock::now() - *m_paidAt;
    return timing;
  }

 private:
  template <class Call>
  auto timed(std::chrono::nanoseconds& into, Call&& call) {
    const auto started = Clock::now();
    auto value = std::forward<Call>(call)();
    into += Clock::now() - started;
    return value;
  }

  std::optional<Clock::time_point> m_paidAt;
  WriteTiming m_spent;
};

}  // namespace kiosk::payments
