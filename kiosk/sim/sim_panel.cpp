#include "kiosk/sim/sim_panel.hpp"

#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <string>

namespace kiosk::ui {

namespace {

constexpr ImU32 kColumn = IM_COL32(22, 27, 36, 255);
constexpr ImU32 kDimmed = IM_COL32(22, 27, 36, 170);

// Buttons placed left to right, as wide as their labels, a new row when one does not fit.
class ButtonRows {
 public:
  ButtonRows(Ui& ui, float x, float y, float width, float height)
      : m_ui(ui), m_x(x), m_y(y), m_width(width), m_height(height), m_cx(x) {}

  Rect next(const std::string& label) {
    const float u = m_ui.unit();
    ImFont* font = m_ui.fonts.small;
    const float text = font->CalcTextSizeA(font->FontSize, FLT_MAX, 0.F, label.c_str()).x;
    // touchButton keeps a fifth of the height free on either side of the label.
    const float w = std::min(m_width, std::max(9.F * u, text + 0.4F * m_height + 2.F * u));
    if (m_cx > m_x && m_cx + w > m_x + m_width) {
      m_cx = m_x;
      m_y += m_height + u;
    }
    const Rect r{m_cx, m_y, w, m_height};
    m_cx += w + u;
    m_used = true;
    return r;
  }
  // Below the last row.
  float bottom() const { return m_used ? m_y + m_height + 1.5F * m_ui.unit() : m_y; }

 private:
  Ui& m_ui;
  float m_x, m_y, m_width, m_height;
  float m_cx;
  bool m_used = false;
};

// A panel button; a disabled one is drawn dimmed and never pressed.
bool panelButton(Ui& ui, const std::string& id, const std::string& label, const Rect& r,
                 bool enabled, bool selected = false) {
  ImGui::BeginDisabled(!enabled);
  const bool pressed = touchButton(ui, ("##" + id).c_str(), ui.fonts.small, label,
                                   ImVec2(r.x, r.y), ImVec2(r.w, r.h), selected);
  ImGui::EndDisabled();
  if (!enabled) {
    ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(r.x, r.y), ImVec2(r.right(), r.bottom()),
                                              kDimmed, r.h * 0.2F);
  }
  return pressed && enabled;
}

}  // namespace

sim::SimIntent drawSimulationPanel(Ui& ui, const Rect& column, const sim::SimPanelView& view) {
  using Kind = sim::SimIntent::Kind;
  sim::SimIntent intent;
  const float u = ui.unit();
  const float pad = 2.F * u;
  const float buttonH = 5.5F * u;
  const Rect inner{column.x + pad, column.y + pad, column.w - 2.F * pad, column.h - 2.F * pad};
  ImGui::SetNextWindowPos(ImVec2(column.x, column.y));
  ImGui::SetNextWindowSize(ImVec2(column.w, column.h));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 0.F);
  ImGui::PushStyleColor(ImGuiCol_WindowBg, kColumn);
  constexpr ImGuiWindowFlags kFlags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                      ImGuiWindowFlags_NoSavedSettings |
                                      ImGuiWindowFlags_NoScrollWithMouse;
  ImGui::Begin("##simulation", nullptr, kFlags);

  // Folded, the panel is the one button that unfolds it.
  if (view.collapsed) {
    if (panelButton(ui, "sim.toggle", "Show simulation panel",
                    Rect{inner.x, inner.y, inner.w, buttonH}, true)) {
      intent.kind = Kind::TogglePanel;
    }
    ImGui::End();
    ImGui::PopStyleColor();
    ImGui::PopStyleVar(2);
    return intent;
  }

  const bool live = !view.scripted;  // a demo drives the world: its buttons only show it
  float y = inner.y;
  const float hideW = 12.F * u;
  drawText(ui, "sim.title", ui.fonts.body, "Simulation", inner.x, y + (buttonH - ui.fonts.body->FontSize) * 0.5F,
           inner.w - hideW - u, ui.theme.accent, Align::Left, nullptr, &inner);
  if (panelButton(ui, "sim.toggle", "Hide", Rect{inner.right() - hideW, y, hideW, buttonH}, true)) {
    intent.kind = Kind::TogglePanel;
  }
  y += buttonH + 2.F * u;
  if (view.scripted) {
    y += drawText(ui, "sim.scripted", ui.fonts.small, "The demo is running: it presses these itself.",
                  inner.x, y, inner.w, ui.theme.textDim, Align::Left, nullptr, &inner) + u;
  }

  const auto label = [&](const char* id, const std::string& text) {
    y += drawText(ui, id, ui.fonts.small, text, inner.x, y, inner.w, ui.theme.textDim, Align::Left,
                  nullptr, &inner) + 0.5F * u;
  };

  label("sim.cards", "Card in the reader");
  ButtonRows cards(ui, inner.x, y, inner.w, buttonH);
  for (const auto& card : view.cards) {
    if (panelButton(ui, "sim.card." + card, card, cards.next(card), live, view.inserted == card)) {
      intent.kind = Kind::Insert;
      intent.key = card;
    }
  }
  if (panelButton(ui, "sim.pull", "pull", cards.next("pull"), live && view.inserted.has_value())) {
    intent.kind = Kind::Pull;
  }
  y = cards.bottom();

  label("sim.order", "Order on the pay screen");
  ButtonRows order(ui, inner.x, y, inner.w, buttonH);
  const bool paying = live && view.paying;
  if (panelButton(ui, "sim.pay", "pay", order.next("pay"), paying)) intent.kind = Kind::Pay;
  if (panelButton(ui, "sim.decline", "decline", order.next("decline"), paying)) {
    intent.kind = Kind::Decline;
  }
  if (panelButton(ui, "sim.open_pay_page", "open pay page", order.next("open pay page"), paying)) {
    intent.kind = Kind::OpenPayPage;
  }
  y = order.bottom();

  label("sim.network_label", "Network between kiosk and cloud");
  ButtonRows network(ui, inner.x, y, inner.w, buttonH);
  const std::string link = view.networkUp ? "connected (press to cut)" : "cut (press to restore)";
  if (panelButton(ui, "sim.network", link, network.next(link), live, view.networkUp)) {
    intent.kind = Kind::SetNetwork;
    intent.up = !view.networkUp;
  }
  y = network.bottom();

  label("sim.time", "Time: +" + std::to_string(view.minutesAhead) + " min");
  ButtonRows time(ui, inner.x, y, inner.w, buttonH);
  if (panelButton(ui, "sim.advance_10min", "+10 min", time.next("+10 min"), live)) {
    intent.kind = Kind::Advance;
    intent.by = std::chrono::minutes(10);
  }
  if (panelButton(ui, "sim.advance_1day", "+1 day", time.next("+1 day"), live)) {
    intent.kind = Kind::Advance;
    intent.by = std::chrono::hours(24);
  }
  y = time.bottom();

  label("sim.meters", "Meter: load tokens, use a day");
  ButtonRows meters(ui, inner.x, y, inner.w, buttonH);
  for (const char* key : {"normal", "low", "water"}) {
    if (panelButton(ui, std::string("sim.meter.") + key, key, meters.next(key), live)) {
      intent.kind = Kind::UseMeter;
      intent.key = key;
    }
  }
  y = meters.bottom();

  if (!view.status.empty()) {
    drawText(ui, "sim.status", ui.fonts.small, view.status, inner.x, y, inner.w, ui.theme.text,
             Align::Left, nullptr, &inner);
  }
  ImGui::End();
  ImGui::PopStyleColor();
  ImGui::PopStyleVar(2);
  return intent;
}

}  // namespace kiosk::ui
