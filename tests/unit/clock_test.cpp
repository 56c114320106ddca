#include "platform/clock.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

TEST(ManualClock, MovesOnlyWhenAdvanced) {
  const kiosk::platform::ManualClock::TimePoint start{std::chrono::seconds(1'700'000'000)};
  kiosk::platform::ManualClock clock(start);
  EXPECT_EQ(clock.unixSeconds(), 1'700'000'000);
  clock.advance(std::chrono::seconds(86400));
  EXPECT_EQ(clock.unixSeconds(), 1'700'086'400);
}

TEST(SystemClock, IsNearTheWallClock) {
  const kiosk::platform::SystemClock clock;
  const auto now = std::chrono::system_clock::now();
  EXPECT_LT(std::chrono::abs(clock.now() - now), 5s);
}
