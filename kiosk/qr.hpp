#pragma once
// QR code modules for a payment or receipt URL, made with libqrencode.

#include <optional>
#include <string>
#include <vector>

namespace kiosk::app {

struct QrMatrix {
  int size = 0;                  // modules a side, without the quiet zone
  std::vector<bool> dark;        // row-major
  bool at(int x, int y) const { return dark[static_cast<std::size_t>(y * size + x)]; }
};

// Error correction level M (15%): a phone still reads it through a scratched screen.
// nullopt when the text is too long for a QR code.
std::optional<QrMatrix> makeQr(const std::string& text);

}  // namespace kiosk::app
