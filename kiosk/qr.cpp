#include "kiosk/qr.hpp"

#include <qrencode.h>

#include <memory>

namespace kiosk::app {

std::optional<QrMatrix> makeQr(const std::string& text) {
  const std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  if (!code) return std::nullopt;
  QrMatrix matrix;
  matrix.size = code->width;
  const auto count = static_cast<std::size_t>(code->width) * static_cast<std::size_t>(code->width);
  matrix.dark.resize(count);
  // libqrencode marks a dark module with the lowest bit of each byte.
  for (std::size_t i = 0; i < count; ++i) matrix.dark[i] = (code->data[i] & 1U) != 0;
  return matrix;
}

}  // namespace kiosk::app
