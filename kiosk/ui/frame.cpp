#include "kiosk/ui/frame.hpp"

#include "platform/gfx/fonts.hpp"
#include "platform/gfx/window.hpp"

namespace kiosk::ui {

DrawnFrame drawFrame(platform::Window& window, platform::FontAtlas& atlas,
                     const app::Strings& strings, app::Lang lang, LayoutProbe& probe,
                     const std::function<Intent(Ui&)>& screen, const Beside& beside,
                     int screenWidth) {
  DrawnFrame out;
  window.beginFrame();
  const int kioskWidth =
      screenWidth > 0 && screenWidth < window.width() ? screenWidth : window.width();
  // The screens lay themselves out on `size` from the window's top-left corner, so the
  // kiosk's screen is the left part of the window and the column is what is left of it.
  Ui ui{strings, lang, atlas.fonts(), probe, {},
        ImVec2(static_cast<float>(kioskWidth), static_cast<float>(window.height())), &atlas};
  beginScreen(ui);
  probe.setScreenArea({0.F, 0.F, ui.size.x, ui.size.y});
  out.intent = screen(ui);
  endScreen();
  if (beside && kioskWidth < window.width()) {
    beside(ui, Rect{ui.size.x, 0.F, static_cast<float>(window.width() - kioskWidth), ui.size.y});
  }
  window.endFrame();
  if (atlas.rebuildIfNeeded()) {
    window.reloadFontTexture();
    out.atlasGrew = true;
  }
  return out;
}

}  // namespace kiosk::ui
