// The screens' quantity formatting.
#include "kiosk/ui/format.hpp"

#include <gtest/gtest.h>

using kiosk::ui::formatUnits;

// What an amount buys, to the nearest tenth of a unit: ¥15 at ¥0.56 per kWh is 26.79 kWh,
// shown as 26.8 (not cut to 26.7).
TEST(FormatUnits, RoundsToTheNearestTenth) {
  EXPECT_EQ(formatUnits(1500, 56), "26.8");
  EXPECT_EQ(formatUnits(1000, 56), "17.9");
  EXPECT_EQ(formatUnits(7000, 56), "125.0");
  EXPECT_EQ(formatUnits(2000, 410), "4.9");   // water: ¥20 at ¥4.10 per m³ is 4.878
  EXPECT_EQ(formatUnits(1025, 410), "2.5");   // 2.5 exactly
  EXPECT_EQ(formatUnits(1, 56), "0.0");
  EXPECT_EQ(formatUnits(0, 56), "0.0");
  EXPECT_EQ(formatUnits(1500, 0), "0.0");     // no price known
}
