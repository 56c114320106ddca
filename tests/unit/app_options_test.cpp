#include "kiosk/options.hpp"

#include <gtest/gtest.h>

using kiosk::app::parseSize;

TEST(ParseSize, AcceptsPortraitAndLandscape) {
  EXPECT_EQ(parseSize("1080x1920"), std::make_pair(1080, 1920));
  EXPECT_EQ(parseSize("1920x1080"), std::make_pair(1920, 1080));
}

TEST(ParseSize, RejectsMalformedAndAbsurdSizes) {
  EXPECT_FALSE(parseSize(""));
  EXPECT_FALSE(parseSize("1080"));
  EXPECT_FALSE(parseSize("1080X1920"));
  EXPECT_FALSE(parseSize("-1080x1920"));
  EXPECT_FALSE(parseSize("100x100"));
  EXPECT_FALSE(parseSize("99999x1080"));
  EXPECT_FALSE(parseSize("1080x1920 "));
}
