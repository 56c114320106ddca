#include "platform/bytes.hpp"

#include <gtest/gtest.h>

using kiosk::Bytes;
using kiosk::fromHex;
using kiosk::toHex;

TEST(Hex, RoundTrips) {
  const Bytes bytes{0x00, 0xA4, 0x04, 0x00, 0xFF};
  EXPECT_EQ(toHex(bytes), "00A40400FF");
  EXPECT_EQ(kiosk::toLowerHex(bytes), "00a40400ff");
  EXPECT_EQ(fromHex("00a40400ff"), bytes);
  EXPECT_EQ(fromHex("00 A4:04 00 FF"), bytes);
}

TEST(Hex, RejectsOddLengthAndNonHex) {
  EXPECT_FALSE(fromHex("ABC"));
  EXPECT_FALSE(fromHex("GG"));
  EXPECT_EQ(fromHex(""), Bytes{});
}
