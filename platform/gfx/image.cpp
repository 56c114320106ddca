#include "platform/gfx/image.hpp"

#include <stb_image.h>
#include <stb_image_write.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace kiosk::platform {

namespace {
void appendToVector(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(context);
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}
}  // namespace

bool writePng(const Image& image, const std::string& path, std::string* error) {
  std::vector<std::uint8_t> encoded;
  if (stbi_write_png_to_func(appendToVector, &encoded, image.width, image.height, 4,
                             image.rgba.data(), image.width * 4) == 0) {
    if (error != nullptr) *error = "PNG encoding failed";
    return false;
  }
  // Write through a stream so that a short write (full disk) is detected on close.
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(encoded.data()),
            static_cast<std::streamsize>(encoded.size()));
  out.close();
  if (!out) {
    if (error != nullptr) *error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

std::optional<Image> readPng(const std::string& path) {
  Image image;
  int channels = 0;
  stbi_uc* data = stbi_load(path.c_str(), &image.width, &image.height, &channels, 4);
  if (data == nullptr) return std::nullopt;
  const auto bytes = static_cast<std::size_t>(image.width) *
                     static_cast<std::size_t>(image.height) * 4U;
  image.rgba.assign(data, data + bytes);
  stbi_image_free(data);
  return image;
}

}  // namespace kiosk::platform
