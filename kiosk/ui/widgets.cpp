#include "kiosk/ui/widgets.hpp"

#include "kiosk/qr.hpp"

#include <fmt/args.h>

#include <algorithm>
#include <cmath>

namespace kiosk::ui {

float Ui::unit() const { return std::min(size.x, size.y) / 100.F; }

std::string Ui::trv(const std::string& key, const std::vector<std::string>& args) const {
  fmt::dynamic_format_arg_store<fmt::format_context> values;
  for (const auto& arg : args) values.push_back(arg);
  try {
    return fmt::vformat(tr(key), values);
  } catch (const fmt::format_error&) {
    return tr(key);  // more "{}" than values: shown unfilled, never thrown across the frame
  }
}

float drawText(Ui& ui, const char* id, ImFont* font, const std::string& text, float x, float y,
               float width, ImU32 color, Align align, const Rect* box, const Rect* within) {
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
  if (item.missingGlyphs > 0 && ui.atlas != nullptr) ui.atlas->require(text);
  if (box != nullptr) {
    item.hasBox = true;
    item.bx = box->x;
    item.by = box->y;
    item.bw = box->w;
    item.bh = box->h;
  }
  if (within != nullptr) {
    item.hasWithin = true;
    item.wx = within->x;
    item.wy = within->y;
    item.ww = within->w;
    item.wh = within->h;
  }
  ui.probe.add(std::move(item));
  return bounds.y;
}

bool touchButton(Ui& ui, const char* id, ImFont* font, const std::string& label, ImVec2 pos,
                 ImVec2 size, bool primary, bool enabled) {
  ImGui::SetCursorScreenPos(pos);
  const bool pressed = ImGui::InvisibleButton(id, size) && enabled;
  const bool held = enabled && ImGui::IsItemActive();
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImU32 fill = !enabled ? ui.theme.panel
                     : primary ? (held ? ui.theme.primaryActive : ui.theme.primary)
                               : (held ? ui.theme.buttonActive : ui.theme.button);
  draw->AddRectFilled(pos, ImVec2(pos.x + size.x, pos.y + size.y), fill, size.y * 0.2F);
  if (!enabled) {
    draw->AddRect(pos, ImVec2(pos.x + size.x, pos.y + size.y), ui.theme.textDim, size.y * 0.2F,
                  0, 2.F);
  }
  const float textY = pos.y + (size.y - font->FontSize) * 0.5F;
  const float pad = size.y * 0.2F;
  // Button labels are recorded with the button's id without its "##" prefix.
  const std::string probeId = std::string(id).substr(std::string(id).rfind('#') + 1);
  const Rect box{pos.x, pos.y, size.x, size.y};
  drawText(ui, probeId.c_str(), font, label, pos.x + pad, textY, size.x - 2.F * pad,
           enabled ? ui.theme.text : ui.theme.textDim, Align::Center, &box);
  if (!enabled) ui.probe.last().disabled = true;
  return pressed;
}

void drawBackground(Ui& ui) {
  ImDrawList* draw = ImGui::GetBackgroundDrawList();
  draw->AddRectFilledMultiColor(ImVec2(0, 0), ui.size, ui.theme.backgroundTop,
                                ui.theme.backgroundTop, ui.theme.backgroundBottom,
                                ui.theme.backgroundBottom);
}

}  // namespace kiosk::ui

namespace kiosk::ui {

HeaderResult drawHeader(Ui& ui, const char* titleKey, const char* leftButtonKey) {
  HeaderResult result;
  const float u = ui.unit();
  const float margin = 5.F * u;
  const ImVec2 buttonSize(22.F * u, 9.F * u);
  result.switchLanguage =
      touchButton(ui, "##lang.switch", ui.fonts.body, ui.tr("lang.switch"),
                  ImVec2(ui.size.x - margin - buttonSize.x, margin), buttonSize);
  if (leftButtonKey != nullptr) {
    const std::string id = std::string("##") + leftButtonKey;
    result.leftButton = touchButton(ui, id.c_str(), ui.fonts.body, ui.tr(leftButtonKey),
                                    ImVec2(margin, margin), buttonSize);
  }
  // Portrait: the title has its own line below the buttons. Landscape, where height is
  // scarce: the title sits between the buttons.
  float bodyTop = 0;
  if (ui.size.x > ui.size.y) {
    const float titleX = margin + buttonSize.x + 3.F * u;
    const float titleY = margin + (buttonSize.y - ui.fonts.title->FontSize) * 0.5F;
    const float titleHeight =
        drawText(ui, titleKey, ui.fonts.title, ui.tr(titleKey), titleX, std::max(0.F, titleY),
                 ui.size.x - 2.F * titleX, ui.theme.text);
    bodyTop = std::max(margin + buttonSize.y, std::max(0.F, titleY) + titleHeight) + 3.F * u;
  } else {
    const float titleY = margin + buttonSize.y + 3.F * u;
    const float titleHeight = drawText(ui, titleKey, ui.fonts.title, ui.tr(titleKey), margin,
                                       titleY, ui.size.x - 2.F * margin, ui.theme.text);
    bodyTop = titleY + titleHeight + 3.F * u;
  }
  result.body.x = margin;
  result.body.y = bodyTop;
  result.body.w = ui.size.x - 2.F * margin;
  result.body.h = ui.size.y - result.body.y - margin;
  return result;
}

// The panel's background must sit under its items although its height is known only after
// them: the draw list is split into two channels, items in the upper one.
Panel::Panel(Ui& ui, float x, float y, float w) : m_ui(ui), m_x(x), m_y(y), m_w(w), m_bottom(y) {
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->ChannelsSplit(2);
  draw->ChannelsSetCurrent(1);
}

void Panel::close(float bottom) {
  if (m_closed) return;
  m_closed = true;
  m_bottom = bottom;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->ChannelsSetCurrent(0);
  drawPanel(m_ui, Rect{m_x, m_y, m_w, m_bottom - m_y});
  draw->ChannelsMerge();
}

Panel::~Panel() { close(m_bottom); }

void drawPanel(Ui& ui, const Rect& rect) {
  ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(rect.x, rect.y),
                                            ImVec2(rect.right(), rect.bottom()), ui.theme.panel,
                                            2.F * ui.unit());
}

Rect footerButtonRect(Ui& ui, int index, int count) {
  const float u = ui.unit();
  const float margin = 5.F * u;
  const float gap = 4.F * u;
  const float height = 12.F * u;
  const float width = (ui.size.x - 2.F * margin - gap * static_cast<float>(count - 1)) /
                      static_cast<float>(count);
  return Rect{margin + static_cast<float>(index) * (width + gap), ui.size.y - margin - height,
              width, height};
}

KeypadPress drawKeypad(Ui& ui, const char* idPrefix, const Rect& area, float maxKeyHeight) {
  static constexpr const char* kLabels[12] = {"1", "2", "3", "4", "5", "6",
                                              "7", "8", "9", "C", "0", "<"};
  KeypadPress press;
  const float gap = 1.5F * ui.unit();
  const float w = (area.w - 2.F * gap) / 3.F;
  const float h = std::min(maxKeyHeight, (area.h - 3.F * gap) / 4.F);
  // Short keys take the body font so that labels stay inside them.
  ImFont* font = h >= ui.fonts.large->FontSize * 1.1F ? ui.fonts.large : ui.fonts.body;
  for (int i = 0; i < 12; ++i) {
    const bool clear = i == 9;
    const bool backspace = i == 11;
    const std::string label =
        clear ? ui.tr("amount.clear") : backspace ? ui.tr("amount.delete") : kLabels[i];
    const std::string id = std::string("##") + idPrefix + ".key" +
                            (clear ? "C" : backspace ? "B" : kLabels[i]);
    const ImVec2 pos(area.x + static_cast<float>(i % 3) * (w + gap),
                     area.y + static_cast<float>(i / 3) * (h + gap));
    if (touchButton(ui, id.c_str(), font, label, pos, ImVec2(w, h))) {
      press.pressed = true;
      press.key = clear ? KeypadPress::Key::Clear
                        : backspace ? KeypadPress::Key::Backspace : KeypadPress::Key::Digit;
      press.digit = kLabels[i][0] - '0';
    }
  }
  return press;
}

void drawProgress(Ui& ui, const Rect& rect, float fraction) {
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float radius = rect.h * 0.5F;
  draw->AddRectFilled(ImVec2(rect.x, rect.y), ImVec2(rect.right(), rect.bottom()),
                      IM_COL32(255, 255, 255, 40), radius);
  const float clamped = fraction < 0.F ? 0.F : (fraction > 1.F ? 1.F : fraction);
  if (clamped > 0.F) {
    draw->AddRectFilled(ImVec2(rect.x, rect.y),
                        ImVec2(rect.x + std::max(rect.h, rect.w * clamped), rect.bottom()),
                        ui.theme.accent, radius);
  }
}

void drawQr(Ui& ui, const std::string& text, const Rect& area) {
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const auto qr = app::makeQr(text);
  // White card with a four-module quiet zone, as scanners expect.
  draw->AddRectFilled(ImVec2(area.x, area.y), ImVec2(area.right(), area.bottom()),
                      IM_COL32(255, 255, 255, 255), ui.unit());
  if (!qr) return;
  constexpr int kQuiet = 4;
  const float module = std::floor(std::min(area.w, area.h) / static_cast<float>(qr->size + 2 * kQuiet));
  const float side = module * static_cast<float>(qr->size);
  const float ox = std::floor(area.x + (area.w - side) * 0.5F);
  const float oy = std::floor(area.y + (area.h - side) * 0.5F);
  for (int y = 0; y < qr->size; ++y) {
    for (int x = 0; x < qr->size; ++x) {
      if (!qr->at(x, y)) continue;
      const float px = ox + static_cast<float>(x) * module;
      const float py = oy + static_cast<float>(y) * module;
      draw->AddRectFilled(ImVec2(px, py), ImVec2(px + module, py + module),
                          IM_COL32(0, 0, 0, 255));
    }
  }
}

}  // namespace kiosk::ui
