#include "kiosk/ui/widgets.hpp"

#include <algorithm>

namespace kiosk::ui {

float Ui::unit() const { return std::min(size.x, size.y) / 100.F; }

float drawText(Ui& ui, const char* id, ImFont* font, const std::string& text, float x, float y,
               float width, ImU32 color, Align align) {
  const float fontSize = font->FontSize;
  const char* begin = text.c_str();
  const char* end = begin + text.size();
  ImVec2 single = font->CalcTextSizeA(fontSize, FLT_MAX, 0.F, begin, end);
  const bool wrap = single.x > width;
  const ImVec2 bounds = wrap ? font->CalcTextSizeA(fontSize, FLT_MAX, width, begin, end) : single;
  float left = x;
  if (!wrap && align == Align::Center) left = x + (width - bounds.x) * 0.5F;
  if (!wrap && align == Align::Right) left = x + width - bounds.x;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddText(font, fontSize, ImVec2(left, y), color, begin, end, wrap ? width : 0.F);

  TextItem item;
  item.id = id;
  item.text = text;
  item.x = left;
  item.y = y;
  item.w = bounds.x;
  item.h = bounds.y;
  item.maxWidth = width;
  item.missingGlyphs = static_cast<int>(platform::missingGlyphs(font, text).size());
  ui.probe.add(std::move(item));
  return bounds.y;
}

bool touchButton(Ui& ui, const char* id, ImFont* font, const std::string& label, ImVec2 pos,
                 ImVec2 size) {
  ImGui::SetCursorScreenPos(pos);
  const bool pressed = ImGui::InvisibleButton(id, size);
  const bool held = ImGui::IsItemActive();
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddRectFilled(pos, ImVec2(pos.x + size.x, pos.y + size.y),
                      held ? ui.theme.buttonActive : ui.theme.button, size.y * 0.2F);
  const float textY = pos.y + (size.y - font->FontSize) * 0.5F;
  const float pad = size.y * 0.2F;
  // Button labels are recorded with the button's id without its "##" prefix.
  const std::string probeId = std::string(id).substr(std::string(id).rfind('#') + 1);
  drawText(ui, probeId.c_str(), font, label, pos.x + pad, textY, size.x - 2.F * pad, ui.theme.text);
  return pressed;
}

void drawBackground(Ui& ui) {
  ImDrawList* draw = ImGui::GetBackgroundDrawList();
  draw->AddRectFilledMultiColor(ImVec2(0, 0), ui.size, ui.theme.backgroundTop,
                                ui.theme.backgroundTop, ui.theme.backgroundBottom,
                                ui.theme.backgroundBottom);
}

}  // namespace kiosk::ui
