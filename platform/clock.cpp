#include "platform/clock.hpp"

namespace kiosk::platform {

std::int64_t Clock::unixSeconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
}

Clock::TimePoint SystemClock::now() const { return std::chrono::system_clock::now(); }

ManualClock::ManualClock(TimePoint start) : m_now(start) {}

Clock::TimePoint ManualClock::now() const {
  const std::lock_guard lock(m_mutex);
  return m_now;
}

void ManualClock::advance(std::chrono::seconds by) {
  const std::lock_guard lock(m_mutex);
  m_now += by;
}

void ManualClock::set(TimePoint to) {
  const std::lock_guard lock(m_mutex);
  m_now = to;
}

Clock::TimePoint OffsetClock::now() const {
  const std::lock_guard lock(m_mutex);
  return std::chrono::system_clock::now() + m_offset;
}

void OffsetClock::advance(std::chrono::seconds by) {
  const std::lock_guard lock(m_mutex);
  if (by.count() > 0) m_offset += by;
}

std::chrono::seconds OffsetClock::offset() const {
  const std::lock_guard lock(m_mutex);
  return m_offset;
}

}  // namespace kiosk::platform
