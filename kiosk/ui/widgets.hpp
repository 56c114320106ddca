#pragma once
// Drawing helpers shared by the screens: text placed by id (and recorded in the layout probe)
// and large touch buttons. Only kiosk/ui includes imgui.h.

#include "kiosk/i18n.hpp"
#include "kiosk/ui/layout_probe.hpp"
#include "platform/gfx/fonts.hpp"

#include <imgui.h>

#include <string>

namespace kiosk::ui {

struct Theme {
  ImU32 backgroundTop = IM_COL32(11, 37, 69, 255);
  ImU32 backgroundBottom = IM_COL32(19, 49, 92, 255);
  ImU32 text = IM_COL32(255, 255, 255, 255);
  ImU32 textDim = IM_COL32(176, 196, 222, 255);
  ImU32 accent = IM_COL32(255, 196, 61, 255);
  ImU32 button = IM_COL32(38, 84, 124, 255);
  ImU32 buttonActive = IM_COL32(64, 121, 170, 255);
  ImU32 badge = IM_COL32(214, 96, 77, 255);
};

struct Ui {
  const app::Strings& strings;
  app::Lang lang;
  const platform::Fonts& fonts;
  LayoutProbe& probe;
  Theme theme;
  ImVec2 size;  // window size in pixels

  const std::string& tr(const char* key) const { return strings.get(key, lang); }
  float unit() const;  // 1% of the shorter side: the grid that layouts are built on
};

enum class Align { Left, Center, Right };

// Draws `text` with its top edge at `y`, aligned within [x, x + width]; wraps to `width` when
// it does not fit on one line. Returns the height used.
float drawText(Ui& ui, const char* id, ImFont* font, const std::string& text, float x, float y,
               float width, ImU32 color, Align align = Align::Center);

// A large rounded touch button; true when tapped. `id` is the stable ImGui id ("##lang").
bool touchButton(Ui& ui, const char* id, ImFont* font, const std::string& label, ImVec2 pos,
                 ImVec2 size);

// Full-window background with a vertical gradient.
void drawBackground(Ui& ui);

}  // namespace kiosk::ui
