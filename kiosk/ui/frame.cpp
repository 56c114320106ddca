#include "kiosk/ui/frame.hpp"

#include "platform/gfx/fonts.hpp"
#include "platform/gfx/window.hpp"

namespace kiosk::ui {

DrawnFrame drawFrame(platform::Window& window, platform::FontAtlas& atlas,
                     const app::Strings& strings, app::Lang lang, LayoutProbe& probe,
                     const std::function<Intent(Ui&)>& screen,
                     const std::function<void(Ui&)>& overlay) {
  DrawnFrame out;
  window.beginFrame();
  Ui ui{strings, lang, atlas.fonts(), probe, {},
        ImVec2(static_cast<float>(window.width()), static_cast<float>(window.height())), &atlas};
  beginScreen(ui);
  out.intent = screen(ui);
  endScreen();
  if (overlay) overlay(ui);
  window.endFrame();
  if (atlas.rebuildIfNeeded()) {
    window.reloadFontTexture();
    out.atlasGrew = true;
  }
  return out;
}

}  // namespace kiosk::ui
