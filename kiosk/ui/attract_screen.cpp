#include "kiosk/ui/screens.hpp"

namespace kiosk::ui {

void beginScreen(Ui& ui) {
  ui.probe.clear();
  drawBackground(ui);
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(ui.size);
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 0.F);
  ImGui::PushStyleColor(ImGuiCol_WindowBg, IM_COL32(0, 0, 0, 0));
  constexpr ImGuiWindowFlags kFlags =
      ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings |
      ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoScrollWithMouse;
  ImGui::Begin("##screen", nullptr, kFlags);
}

void applyKeypad(const KeypadPress& press, Intent& intent) {
  if (!press.pressed) return;
  switch (press.key) {
    case KeypadPress::Key::Digit: intent = {Intent::Kind::Digit, press.digit}; break;
    case KeypadPress::Key::Clear: intent = {Intent::Kind::Clear, 0}; break;
    case KeypadPress::Key::Backspace: intent = {Intent::Kind::Backspace, 0}; break;
  }
}

void endScreen() {
  ImGui::End();
  ImGui::PopStyleColor();
  ImGui::PopStyleVar(2);
}

Intent drawAttract(Ui& ui, const AttractView& view) {
  Intent intent;
  const float u = ui.unit();
  const float w = ui.size.x;
  const float h = ui.size.y;
  const float margin = 6.F * u;
  const float column = w - 2.F * margin;

  // Top bar: simulation badge on the left, language switch on the right.
  const ImVec2 langSize(24.F * u, 9.F * u);
  if (touchButton(ui, "##lang.switch", ui.fonts.body, ui.tr("lang.switch"),
                  ImVec2(w - margin - langSize.x, margin), langSize)) {
    intent.kind = Intent::Kind::SwitchLanguage;
  }
  if (view.simulation) {
    const std::string& badge = ui.tr("mode.simulation");
    const ImVec2 text = ui.fonts.small->CalcTextSizeA(ui.fonts.small->FontSize, FLT_MAX, 0.F,
                                                      badge.c_str());
    const ImVec2 pos(margin, margin + (langSize.y - text.y - 2.F * u) * 0.5F);
    ImGui::GetWindowDrawList()->AddRectFilled(
        pos, ImVec2(pos.x + text.x + 4.F * u, pos.y + text.y + 2.F * u), ui.theme.badge, u);
    drawText(ui, "mode.simulation", ui.fonts.small, badge, pos.x + 2.F * u, pos.y + u,
             text.x + 0.5F, ui.theme.text, Align::Left);
  }

  // Centre block: title, utilities, a card-slot pictogram and the call to action. Portrait
  // stacks them; landscape puts the pictogram beside the text so that nothing crowds the footer.
  const bool landscape = w > h;
  const float cardW = landscape ? 30.F * u : 36.F * u;
  const float cardH = cardW * 0.63F;
  float y = landscape ? h * 0.18F : h * 0.22F;
  const float textX = landscape ? w * 0.42F : margin;
  const float textW = landscape ? w - textX - margin : column;
  const Align align = landscape ? Align::Left : Align::Center;
  y += drawText(ui, "app.title", ui.fonts.title, ui.tr("app.title"), textX, y, textW,
                ui.theme.text, align);
  y += 2.F * u;
  y += drawText(ui, "attract.utilities", ui.fonts.large, ui.tr("attract.utilities"), textX, y,
                textW, ui.theme.accent, align);

  const ImVec2 card = landscape ? ImVec2(w * 0.21F - cardW * 0.5F, h * 0.5F - cardH * 0.5F)
                                : ImVec2(w * 0.5F - cardW * 0.5F, y + 8.F * u);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddRectFilled(ImVec2(card.x - 4.F * u, card.y + cardH * 0.85F),
                      ImVec2(card.x + cardW + 4.F * u, card.y + cardH * 0.85F + 2.F * u),
                      IM_COL32(0, 0, 0, 160), u);
  draw->AddRectFilled(card, ImVec2(card.x + cardW, card.y + cardH * 0.85F),
                      IM_COL32(236, 240, 245, 255), 2.F * u);
  const ImVec2 chip(card.x + cardW * 0.14F, card.y + cardH * 0.28F);
  draw->AddRectFilled(chip, ImVec2(chip.x + cardW * 0.18F, chip.y + cardH * 0.26F),
                      ui.theme.accent, 0.8F * u);
  y = landscape ? y + 6.F * u : card.y + cardH + 8.F * u;

  y += drawText(ui, "attract.insert", ui.fonts.large, ui.tr("attract.insert"), textX, y, textW,
                ui.theme.text, align);
  y += 2.F * u;
  y += drawText(ui, "attract.hint", ui.fonts.body, ui.tr("attract.hint"), textX, y, textW,
                ui.theme.textDim, align);
  y += 4.F * u;
  drawText(ui, "attract.pay_with", ui.fonts.body, ui.tr("attract.pay_with"), textX, y, textW,
           ui.theme.textDim, align);

  // Footer: help line and kiosk id with the time.
  const float footer = h - margin - ui.fonts.small->FontSize;
  drawText(ui, "footer.help", ui.fonts.small, ui.tr("footer.help"), margin,
           footer - ui.fonts.small->FontSize * 1.6F, column, ui.theme.textDim);
  drawText(ui, "footer.kiosk", ui.fonts.small,
           ui.tr("footer.kiosk") + " " + view.kioskId + "  ·  " + view.clock, margin, footer,
           column, ui.theme.textDim);
  return intent;
}

}  // namespace kiosk::ui
