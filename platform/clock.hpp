#pragma once
// Time source for the whole kiosk. Production uses the system clock; simulation and tests use
// a manual clock that they advance, so timeouts and meter consumption can be driven quickly.

#include <chrono>
#include <cstdint>
#include <mutex>

namespace kiosk::platform {

class Clock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // Seconds since the Unix epoch, the unit used on the card and in the API.
  std::int64_t unixSeconds() const;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
};

// A clock that starts at a given instant and only moves when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start);
  TimePoint now() const override;
  void advance(std::chrono::seconds by);
  void set(TimePoint to);

 private:
  mutable std::mutex m_mutex;
  TimePoint m_now;
};

// The system clock moved forward by an offset that only grows: simulation mode advances the
// kiosk and its embedded cloud together, so order expiry and meter days pass at a button press.
class OffsetClock final : public Clock {
 public:
  TimePoint now() const override;
  void advance(std::chrono::seconds by);
  std::chrono::seconds offset() const;

 private:
  mutable std::mutex m_mutex;
  std::chrono::seconds m_offset{0};
};

}  // namespace kiosk::platform
