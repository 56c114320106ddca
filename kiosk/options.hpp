#pragma once
// The kiosk's run options, as parsed from the command line.

#include "kiosk/i18n.hpp"

#include <optional>
#include <string>
#include <utility>

namespace kiosk::app {

struct AppOptions {
  bool simulate = false;   // kiosk-sim: the screens say that no money moves
  bool fullscreen = true;
  int width = 1080;
  int height = 1920;
  std::string screenshot;  // write one frame as PNG (plus FILE.layout.json) and exit
  std::string screen;      // show one screen with sample contents (the screen gallery)
  std::string galleryDir;  // write every screen in both languages into this folder and exit
  int frameStats = 0;      // > 0: draw the screen this many times, print frame times, exit
  Lang lang = Lang::ZhCN;
  std::string assetsDir = KIOSK_ASSETS_DIR;
  std::string fontPath;    // empty: the Debian Noto Sans CJK default
  std::string kioskId = "K-0001";

  std::string shotsDir;    // --shots: every screen shown, as NN_SCREEN.png and .layout.json
  // kiosk-sim at work: its window has a column for the simulation panel beside the kiosk's
  // screen, which keeps width x height when windowed.
  bool panelColumn = false;
};

// The simulation panel's column beside a kiosk screen of WxH: 40% of its shorter side.
int panelColumnWidth(int width, int height);
// The kiosk's screen that a window of WxH leaves beside the panel's column (fullscreen).
int screenWidthBesidePanel(int windowWidth, int windowHeight);

// Parses "1080x1920"; nullopt when malformed or outside 320..8192 pixels a side.
std::optional<std::pair<int, int>> parseSize(const std::string& text);

}  // namespace kiosk::app
