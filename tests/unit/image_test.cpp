#include "platform/gfx/image.hpp"

#include <gtest/gtest.h>

#include <filesystem>

TEST(Png, RoundTripsPixels) {
  kiosk::platform::Image image;
  image.width = 3;
  image.height = 2;
  image.rgba = {255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255,
                10, 20, 30, 255, 40, 50, 60, 255, 70, 80, 90, 255};
  const auto path = (std::filesystem::temp_directory_path() / "kiosk_png_roundtrip.png").string();
  ASSERT_TRUE(kiosk::platform::writePng(image, path));
  const auto back = kiosk::platform::readPng(path);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->width, 3);
  EXPECT_EQ(back->height, 2);
  EXPECT_EQ(back->rgba, image.rgba);
  std::filesystem::remove(path);
}

TEST(Png, UnwritablePathIsReported) {
  kiosk::platform::Image image{1, 1, {0, 0, 0, 255}};
  std::string error;
  EXPECT_FALSE(kiosk::platform::writePng(image, "/nonexistent-dir/x.png", &error));
  EXPECT_NE(error.find("/nonexistent-dir/x.png"), std::string::npos) << error;
}

TEST(Png, FullDiskIsReported) {
  if (!std::filesystem::exists("/dev/full")) GTEST_FAIL() << "/dev/full missing";
  kiosk::platform::Image image{64, 64, std::vector<std::uint8_t>(64 * 64 * 4, 200)};
  std::string error;
  EXPECT_FALSE(kiosk::platform::writePng(image, "/dev/full", &error));
  EXPECT_FALSE(error.empty());
}
