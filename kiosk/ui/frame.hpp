#pragma once
// One ImGui frame of the kiosk window: the frame set-up every window loop shares (live kiosk,
// sample screens and gallery, the frame-time benchmark).

#include "kiosk/ui/screens.hpp"

#include <functional>

namespace kiosk::platform {
class Window;
class FontAtlas;
}  // namespace kiosk::platform

namespace kiosk::ui {

struct DrawnFrame {
  Intent intent;           // what `screen` returned
  bool atlasGrew = false;  // text needed glyphs the atlas lacked: this frame showed '?', draw again
};

// What is drawn beside the kiosk's screen (the simulation panel), into `column`.
using Beside = std::function<void(Ui&, const Rect& column)>;

// Begins a frame, draws `screen` as the kiosk's screen, the window's left `screenWidth` pixels
// (0: the whole window), then `beside` into the column right of it (may be empty), and ends
// the frame without presenting it. When the atlas had to grow, the font texture is reloaded.
DrawnFrame drawFrame(platform::Window& window, platform::FontAtlas& atlas,
                     const app::Strings& strings, app::Lang lang, LayoutProbe& probe,
                     const std::function<Intent(Ui&)>& screen, const Beside& beside = {},
                     int screenWidth = 0);

}  // namespace kiosk::ui
