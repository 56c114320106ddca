#include "platform/time_format.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace kiosk::platform {
namespace {

// 2023-11-14 22:13:20 UTC, a Tuesday evening in UTC and already Wednesday in Shanghai.
constexpr std::int64_t kNovember = 1700000000;

TEST(TimeFormatTest, UtcShowsTheStoredInstantAsItIs) {
  EXPECT_EQ(formatTime(kNovember, "UTC", kDateTimeZonePattern), "2023-11-14 22:13 UTC");
  EXPECT_EQ(formatTime(kNovember, "UTC", kDatePattern), "2023-11-14");
  EXPECT_EQ(formatTime(kNovember, "UTC", "%Y-%m-%dT%H:%M:%SZ"), "2023-11-14T22:13:20Z");
  EXPECT_EQ(formatTime(0, "UTC", kDateTimePattern), "1970-01-01 00:00");
}

TEST(TimeFormatTest, ShanghaiIsEightHoursAheadAndCrossesMidnight) {
  EXPECT_EQ(formatTime(kNovember, "Asia/Shanghai", kDateTimeZonePattern),
            "2023-11-15 06:13 CST");
  EXPECT_EQ(formatTime(kNovember, "Asia/Shanghai", kDatePattern), "2023-11-15");
  EXPECT_EQ(formatTime(0, "Asia/Shanghai", kDateTimePattern), "1970-01-01 08:00");
  // No daylight saving: the same offset in July.
  EXPECT_EQ(formatTime(1690000000, "Asia/Shanghai", kDateTimeZonePattern),
            "2023-07-22 12:26 CST");
}

TEST(TimeFormatTest, NewYorkFollowsDaylightSavingTime) {
  EXPECT_EQ(formatTime(kNovember, "America/New_York", kDateTimeZonePattern),
            "2023-11-14 17:13 EST");
  EXPECT_EQ(formatTime(1690000000, "America/New_York", kDateTimeZonePattern),
            "2023-07-22 00:26 EDT");
  // Spring forward, 2024-03-10: one second before 07:00 UTC it is 01:59:59 EST, then 03:00 EDT.
  EXPECT_EQ(formatTime(1710053999, "America/New_York", "%H:%M:%S %Z"), "01:59:59 EST");
  EXPECT_EQ(formatTime(1710054000, "America/New_York", "%H:%M:%S %Z"), "03:00:00 EDT");
  // Fall back, 2024-11-03: 01:30 happens twice, first in EDT, an hour later in EST.
  EXPECT_EQ(formatTime(1730611800, "America/New_York", kDateTimeZonePattern),
            "2024-11-03 01:30 EDT");
  EXPECT_EQ(formatTime(1730615400, "America/New_York", kDateTimeZonePattern),
            "2024-11-03 01:30 EST");
}

TEST(TimeFormatTest, AnUnknownZoneShowsUtcAndSaysSo) {
  EXPECT_EQ(formatTime(kNovember, "Mars/Olympus_Mons", kDateTimePattern), "2023-11-14 22:13 UTC");
  EXPECT_EQ(formatTime(kNovember, "", kDatePattern), "2023-11-14 UTC");
  // A pattern that prints the zone already names UTC once.
  EXPECT_EQ(formatTime(kNovember, "Mars/Olympus_Mons", kDateTimeZonePattern),
            "2023-11-14 22:13 UTC");
}

// The process's zone: TZ when it names one (as localtime_r read it), else the system's.
TEST(TimeFormatTest, TheLocalZoneFollowsTz) {
  const char* saved = std::getenv("TZ");
  const std::optional<std::string> before =
      saved != nullptr ? std::optional<std::string>(saved) : std::nullopt;
  ::setenv("TZ", "Asia/Shanghai", 1);
  EXPECT_EQ(localZoneName(), "Asia/Shanghai");
  ::setenv("TZ", ":America/New_York", 1);
  EXPECT_EQ(localZoneName(), "America/New_York");
  ::unsetenv("TZ");
  EXPECT_FALSE(localZoneName().empty());
  EXPECT_EQ(formatTime(kNovember, localZoneName(), kDatePattern).size(), 10U);  // a known zone
  if (before) ::setenv("TZ", before->c_str(), 1);
}

}  // namespace
}  // namespace kiosk::platform
