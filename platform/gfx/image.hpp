#pragma once
// An RGBA8 image in memory, with PNG read and write (stb), for screenshots and their tests.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiosk::platform {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgba;  // row-major, top row first, 4 bytes a pixel

  const std::uint8_t* pixel(int x, int y) const {
    return rgba.data() + (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                          static_cast<std::size_t>(x)) * 4U;
  }
};

// Writes the image as PNG; false (and errno-style message in `error`) on failure, for
// example a full disk.
bool writePng(const Image& image, const std::string& path, std::string* error = nullptr);
std::optional<Image> readPng(const std::string& path);

}  // namespace kiosk::platform
