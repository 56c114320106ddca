#pragma once
// The kiosk's run options, as parsed from the command line.

#include "kiosk/i18n.hpp"

#include <optional>
#include <string>
#include <utility>

namespace kiosk::app {

struct AppOptions {
  bool simulate = false;
  bool fullscreen = true;
  int width = 1080;
  int height = 1920;
  std::string screenshot;  // write one frame as PNG (plus FILE.layout.json) and exit
  std::string screen;      // show one screen with sample contents (the screen gallery)
  std::string galleryDir;  // write every screen in both languages into this folder and exit
  Lang lang = Lang::ZhCN;
  std::string assetsDir = KIOSK_ASSETS_DIR;
  std::string fontPath;    // empty: the Debian Noto Sans CJK default
  std::string kioskId = "K-0001";

  // Simulation mode (--simulate).
  std::string stateDir;    // empty: $XDG_STATE_HOME/kiosk-simulation (or ~/.local/state/...)
  bool readerPcsc = false; // --reader pcsc: demo cards on vpcd, read through pcscd
  std::string pcscReader;  // with readerPcsc: the reader's name; empty: the first one
  std::string vpcdHost = "127.0.0.1";
  int vpcdPort = 35963;
  bool demo = false;       // --demo: a scripted top-up, a screenshot of every screen, exit
  std::string demoDir = "demo-screenshots";
};

// Parses "1080x1920"; nullopt when malformed or outside 320..8192 pixels a side.
std::optional<std::pair<int, int>> parseSize(const std::string& text);

}  // namespace kiosk::app
