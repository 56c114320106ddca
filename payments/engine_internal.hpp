#pragma once
// What the engine's files (engine.cpp and engine_*.cpp) share with one another; nothing else
// includes it.

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "payments/engine.hpp"

namespace kiosk::payments {

namespace engine_detail {

using nlohmann::json;
using Steady = std::chrono::steady_clock;

std::optional<card::CreditToken> tokenOf(const std::string& hex);
std::string failureJson(const PayFailure& failure);

}  // namespace engine_detail

// The order whose payment the order worker is waiting for; the UI may ask to cancel it.
struct Engine::Waiting {
  std::string orderId;
  std::atomic<bool> abort{false};   // wakes the long poll
  std::atomic<bool> cancel{false};  // the resident (or the flow) asked to cancel
};

// A Paid step on its way to disk while the write already starts: reading the card's challenge
// and fetching the script change nothing on the card, so they need not wait for it; the
// token's step, and with it the UPDATE, does. Guarded by m_mutex, announced on m_changed.
struct Engine::PaidCommit {
  std::int64_t credit = 0;  // the paid order's split, as the step records it
  std::int64_t fees = 0;
  bool done = false;
  bool ok = false;
};

}  // namespace kiosk::payments
