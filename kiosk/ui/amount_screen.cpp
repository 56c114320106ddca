#include "kiosk/ui/format.hpp"
#include "kiosk/ui/screens.hpp"

#include <algorithm>

namespace kiosk::ui {

namespace {

// Presets in a grid of three columns; returns the height used.
float drawPresets(Ui& ui, const app::AmountView& view, const Rect& area, Intent& intent) {
  const float u = ui.unit();
  const float gap = 2.F * u;
  const int columns = 3;
  const float w = (area.w - gap * (columns - 1)) / columns;
  const float h = 11.F * u;
  const auto selected = view.amountMinor();
  for (std::size_t i = 0; i < view.presetsMinor.size(); ++i) {
    const auto col = static_cast<float>(i % columns);
    const auto row = static_cast<float>(i / columns);
    const std::string id = "##amount.preset" + std::to_string(i);
    if (touchButton(ui, id.c_str(), ui.fonts.large, app::formatMoneyShort(view.presetsMinor[i]),
                    ImVec2(area.x + col * (w + gap), area.y + row * (h + gap)), ImVec2(w, h),
                    view.presetsMinor[i] == selected)) {
      intent = {Intent::Kind::Preset, static_cast<int>(i)};
    }
  }
  const auto rows = static_cast<float>((view.presetsMinor.size() + columns - 1) / columns);
  return rows * h + (rows - 1) * gap;
}

// Entered amount and a 4x3 keypad below it, filling `area`.
void drawEntry(Ui& ui, const app::AmountView& view, const Rect& area, Intent& intent) {
  const float u = ui.unit();
  float y = area.y;
  y += drawText(ui, "amount.other", ui.fonts.small, ui.tr("amount.other"), area.x, y, area.w,
                ui.theme.textDim, Align::Left);
  y += u;
  const float boxH = ui.fonts.large->FontSize * 1.3F;
  ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(area.x, y), ImVec2(area.right(), y + boxH),
                                            IM_COL32(0, 0, 0, 90), u);
  drawText(ui, "amount.entered", ui.fonts.large, view.entered.empty() ? "0" : view.entered,
           area.x + 2.F * u, y + (boxH - ui.fonts.large->FontSize) * 0.5F, area.w - 4.F * u,
           ui.theme.text, Align::Right);
  y += boxH + 2.F * u;

  const Rect pad{area.x, y, area.w, area.bottom() - y};
  applyKeypad(drawKeypad(ui, "amount", pad, 10.F * u), intent);
}

// Where the money goes (fees owed first, then credit) and what the credit buys.
float drawSplit(Ui& ui, const app::AmountView& view, const Rect& area) {
  const float u = ui.unit();
  const float pad = 3.F * u;
  const float rowH = ui.fonts.body->FontSize * 1.2F;
  Panel panel(ui, area.x, area.y, area.w);
  const float x = area.x + pad;
  const float w = area.w - 2.F * pad;
  const float labelW = w * 0.55F;
  float y = area.y + pad;
  const std::int64_t amount = view.amountMinor();
  const std::int64_t fees = std::min(view.feeShareMinor, amount);
  const std::int64_t credit = amount - fees;
  drawText(ui, "amount.split_fees", ui.fonts.body, ui.tr("amount.split_fees"), x, y, labelW,
           ui.theme.textDim, Align::Left);
  drawText(ui, "amount.split_fees.value", ui.fonts.body, app::formatMoney(fees), x + labelW, y,
           w - labelW, ui.theme.text, Align::Right);
  y += rowH;
  drawText(ui, "amount.split_credit", ui.fonts.body, ui.tr("amount.split_credit"), x, y, labelW,
           ui.theme.textDim, Align::Left);
  drawText(ui, "amount.split_credit.value", ui.fonts.body, app::formatMoney(credit), x + labelW,
           y, w - labelW, ui.theme.accent, Align::Right);
  y += rowH;
  drawText(ui, "amount.estimate", ui.fonts.body,
           ui.trf("amount.estimate", formatUnits(credit, view.priceMinorPerUnit),
                  ui.tr(unitKey(view.utility))),
           x, y, w, ui.theme.text, Align::Right);
  y += rowH;
  if (view.priceMinorPerUnit > 0) {
    drawText(ui, "amount.price", ui.fonts.small,
             ui.trf("amount.price", app::formatMoney(view.priceMinorPerUnit), ui.tr(unitKey(view.utility))),
             x, y, w, ui.theme.textDim, Align::Right);
    y += ui.fonts.small->FontSize * 1.2F;
  }
  const std::string line =
      view.problemKey ? ui.tr(*view.problemKey)
                      : ui.trf("amount.limits", app::formatMoney(view.minMinor),
                               app::formatMoney(view.maxMinor));
  y += drawText(ui, "amount.note", ui.fonts.small, line, x, y, w,
                view.problemKey ? ui.theme.warn : ui.theme.textDim, Align::Left);
  panel.close(y + pad);
  return panel.height();
}

}  // namespace

Intent drawAmount(Ui& ui, const app::AmountView& view) {
  Intent intent;
  const auto header = drawHeader(ui, "amount.title", "common.back");
  if (header.switchLanguage) intent.kind = Intent::Kind::SwitchLanguage;
  if (header.leftButton) intent.kind = Intent::Kind::Back;
  const float u = ui.unit();
  const Rect footer = footerButtonRect(ui, 0, 1);
  const Rect body{header.body.x, header.body.y, header.body.w, footer.y - header.body.y - 3.F * u};
  const float gap = 3.F * u;

  if (ui.size.x > ui.size.y) {
    const float colW = (body.w - gap) * 0.5F;
    float y = body.y;
    y += drawPresets(ui, view, Rect{body.x, y, colW, 0}, intent) + gap;
    drawSplit(ui, view, Rect{body.x, y, colW, 0});
    drawEntry(ui, view, Rect{body.x + colW + gap, body.y, colW, body.h}, intent);
  } else {
    float y = body.y;
    y += drawPresets(ui, view, Rect{body.x, y, body.w, 0}, intent) + gap;
    const float splitH = 2.F * 3.F * u + 3.F * ui.fonts.body->FontSize * 1.2F +
                         ui.fonts.small->FontSize * 1.2F;
    drawEntry(ui, view, Rect{body.x, y, body.w, body.bottom() - y - splitH - gap}, intent);
    drawSplit(ui, view, Rect{body.x, body.bottom() - splitH, body.w, 0});
  }
  if (touchButton(ui, "##amount.pay", ui.fonts.large, ui.tr("amount.pay"),
                  ImVec2(footer.x, footer.y), ImVec2(footer.w, footer.h), true)) {
    intent.kind = Intent::Kind::ConfirmAmount;
  }
  return intent;
}

}  // namespace kiosk::ui
