#include "kiosk/ui/format.hpp"
#include "kiosk/ui/screens.hpp"
#include "protocol/masking.hpp"

#include <algorithm>

namespace kiosk::ui {

namespace {

// One "label ........ value" row; the label gets `labelShare` of the width, the value the rest.
float labelValue(Ui& ui, const std::string& id, const std::string& label,
                 const std::string& value, float x, float y, float w, float labelShare = 0.38F) {
  const float labelW = w * labelShare;
  const float gap = w * 0.02F;
  const float h1 = drawText(ui, (id + ".label").c_str(), ui.fonts.body, label, x, y, labelW,
                            ui.theme.textDim, Align::Left);
  const float h2 = drawText(ui, (id + ".value").c_str(), ui.fonts.body, value, x + labelW + gap, y,
                            w - labelW - gap, ui.theme.text, Align::Right);
  return std::max(h1, h2);
}

ImU32 alarmColour(const Ui& ui, app::AlarmLevel level) {
  switch (level) {
    case app::AlarmLevel::None: return ui.theme.good;
    case app::AlarmLevel::Low: return ui.theme.accent;
    case app::AlarmLevel::VeryLow:
    case app::AlarmLevel::Critical: return ui.theme.warn;
    case app::AlarmLevel::CutOff: return ui.theme.bad;
  }
  return ui.theme.text;
}

const char* alarmKey(app::AlarmLevel level) {
  switch (level) {
    case app::AlarmLevel::None: return "alarm.none";
    case app::AlarmLevel::Low: return "alarm.low";
    case app::AlarmLevel::VeryLow: return "alarm.very_low";
    case app::AlarmLevel::Critical: return "alarm.critical";
    case app::AlarmLevel::CutOff: return "alarm.cut_off";
  }
  return "alarm.none";
}

// Balance, alarm state and the account's identity. Returns the height used.
float drawSummary(Ui& ui, const app::AccountView& view, const Rect& area) {
  const float u = ui.unit();
  const float pad = 3.F * u;
  const float x = area.x + pad;
  const float w = area.w - 2.F * pad;
  float y = area.y + pad;
  Panel panel(ui, area.x, area.y, area.w);

  y += drawText(ui, "account.balance", ui.fonts.small,
                ui.tr(utilityKey(view.utility)) + " · " + ui.tr("account.balance"), x, y, w,
                ui.theme.textDim, Align::Left);
  const bool water = view.utility == app::Utility::Water;
  if (view.balanceTime == 0) {
    // The meter has never written to the card: its balance and supply are not known.
    y += drawText(ui, "account.balance.value", ui.fonts.title, "—", x, y, w, ui.theme.textDim,
                  Align::Left);
    y += drawText(ui, "account.balance_at", ui.fonts.small,
                  ui.tr(water ? "account.not_reported.water" : "account.not_reported"), x, y, w,
                  ui.theme.textDim, Align::Left);
  } else {
    y += drawText(ui, "account.balance.value", ui.fonts.title, app::formatMoney(view.balanceMinor),
                  x, y, w, view.balanceMinor > 0 ? ui.theme.text : ui.theme.bad, Align::Left);
    y += drawText(ui, "account.balance_at", ui.fonts.small,
                  ui.trf(water ? "account.balance_at.water" : "account.balance_at",
                         formatDateTime(view.balanceTime)),
                  x, y, w, ui.theme.textDim, Align::Left);
    y += u;
    // Supply and balance are two facts: a balance used up is never "normal".
    std::string alarm = alarmKey(view.alarm);
    if (view.alarm == app::AlarmLevel::None && view.balanceMinor <= 0) alarm = "alarm.used_up";
    if (water && (alarm == "alarm.none" || alarm == "alarm.cut_off")) alarm += ".water";
    y += drawText(ui, "account.alarm", ui.fonts.body, ui.tr(alarm.c_str()), x, y, w,
                  alarm == "alarm.used_up" ? ui.theme.bad : alarmColour(ui, view.alarm), Align::Left);
  }
  y += 2.F * u;
  y += labelValue(ui, "account.card", ui.tr("account.card"), protocol::maskCardNumber(view.cardNumber),
                  x, y, w);
  y += labelValue(ui, "account.meter", ui.tr("account.meter"), view.meterNumber, x, y, w);
  // Offline the cloud could not say whose account it is: unknown, not blank.
  const std::string& unknown = ui.tr("account.unknown");
  y += labelValue(ui, "account.holder", ui.tr("account.holder"),
                  view.offline ? unknown : view.holderMasked, x, y, w);
  y += labelValue(ui, "account.address", ui.tr("account.address"),
                  view.offline ? unknown : view.addressMasked, x, y, w);
  panel.close(y + pad);
  return panel.height();
}

float drawFees(Ui& ui, const app::AccountView& view, const Rect& area) {
  const float u = ui.unit();
  const float pad = 3.F * u;
  Panel panel(ui, area.x, area.y, area.w);
  const float x = area.x + pad;
  const float w = area.w - 2.F * pad;
  float y = area.y + pad;
  y += drawText(ui, "account.fees", ui.fonts.small, ui.tr("account.fees"), x, y, w,
                ui.theme.textDim, Align::Left);
  y += u;
  if (view.offline) {
    y += drawText(ui, "account.fees.unknown", ui.fonts.body, ui.tr("account.unknown_offline"), x, y,
                  w, ui.theme.textDim, Align::Left);
  } else if (view.fees.empty()) {
    y += drawText(ui, "account.no_fees", ui.fonts.body, ui.tr("account.no_fees"), x, y, w,
                  ui.theme.good, Align::Left);
  }
  int index = 0;
  for (const auto& fee : view.fees) {
    y += labelValue(ui, "account.fee" + std::to_string(index++), ui.tr("fee." + fee.kind),
                    app::formatMoney(fee.amountMinor), x, y, w, 0.55F);
  }
  panel.close(y + pad);
  return panel.height();
}

float drawRecent(Ui& ui, const app::AccountView& view, const Rect& area) {
  const float u = ui.unit();
  const float pad = 3.F * u;
  const std::size_t shown = std::min<std::size_t>(3, view.recent.size());
  Panel panel(ui, area.x, area.y, area.w);
  const float x = area.x + pad;
  const float w = area.w - 2.F * pad;
  float y = area.y + pad;
  y += drawText(ui, "account.recent", ui.fonts.small, ui.tr("account.recent"), x, y, w,
                ui.theme.textDim, Align::Left);
  y += u;
  if (view.offline) {
    y += drawText(ui, "account.recent.unknown", ui.fonts.body, ui.tr("account.unknown_offline"), x,
                  y, w, ui.theme.textDim, Align::Left);
  } else if (shown == 0) {
    y += drawText(ui, "account.recent.none", ui.fonts.body, ui.tr("account.none"), x, y, w,
                  ui.theme.textDim, Align::Left);
  }
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& p = view.recent[i];
    y += labelValue(ui, "account.recent" + std::to_string(i), formatDate(p.time),
                    app::formatMoney(p.amountMinor), x, y, w, 0.55F);
  }
  panel.close(y + pad);
  return panel.height();
}

// Monthly consumption as bars, newest on the right, with the month under each bar.
float drawUsage(Ui& ui, const app::AccountView& view, const Rect& area) {
  const float u = ui.unit();
  const float pad = 3.F * u;
  drawPanel(ui, area);
  const float x = area.x + pad;
  const float w = area.w - 2.F * pad;
  float y = area.y + pad;
  y += drawText(ui, "account.usage", ui.fonts.small,
                ui.tr("account.usage") + " (" + ui.tr(unitKey(view.utility)) + ")", x, y, w,
                ui.theme.textDim, Align::Left);
  const std::size_t count = std::min<std::size_t>(6, view.usage.size());
  if (count == 0) {
    drawText(ui, "account.usage.none", ui.fonts.body,
             ui.tr(view.offline ? "account.unknown_offline" : "account.none"), x, y + u, w,
             ui.theme.textDim, Align::Left);
    return area.h;
  }
  const auto first = view.usage.end() - static_cast<std::ptrdiff_t>(count);
  std::int64_t peak = 1;
  for (auto it = first; it != view.usage.end(); ++it) peak = std::max(peak, it->milliUnits);
  const float labelH = ui.fonts.small->FontSize;
  const float valueH = ui.fonts.small->FontSize;
  const float chartTop = y + u + valueH;
  const float chartBottom = area.bottom() - pad - labelH - u;
  const float slot = w / static_cast<float>(count);
  ImDrawList* draw = ImGui::GetWindowDrawList();
  int index = 0;
  for (auto it = first; it != view.usage.end(); ++it, ++index) {
    const float fraction = static_cast<float>(it->milliUnits) / static_cast<float>(peak);
    const float barH = std::max(2.F, (chartBottom - chartTop) * fraction);
    const float bx = x + slot * static_cast<float>(index) + slot * 0.2F;
    const float bw = slot * 0.6F;
    draw->AddRectFilled(ImVec2(bx, chartBottom - barH), ImVec2(bx + bw, chartBottom),
                        index + 1 == static_cast<int>(count) ? ui.theme.accent : ui.theme.button,
                        0.5F * u);
    const std::string id = "account.usage" + std::to_string(index);
    drawText(ui, (id + ".value").c_str(), ui.fonts.small, std::to_string(it->milliUnits / 1000),
             x + slot * static_cast<float>(index), chartBottom - barH - valueH, slot,
             ui.theme.textDim);
    // "2026-10" -> "10": the year is obvious on a six-month chart.
    const std::string month = it->month.size() >= 7 ? it->month.substr(5, 2) : it->month;
    drawText(ui, (id + ".month").c_str(), ui.fonts.small, month,
             x + slot * static_cast<float>(index), chartBottom + u, slot, ui.theme.textDim);
  }
  return area.h;
}

}  // namespace

Intent drawAccount(Ui& ui, const app::AccountView& view) {
  Intent intent;
  const auto header = drawHeader(ui, "account.title", "common.back");
  if (header.switchLanguage) intent.kind = Intent::Kind::SwitchLanguage;
  if (header.leftButton) intent.kind = Intent::Kind::Back;
  const float u = ui.unit();
  const Rect footer = footerButtonRect(ui, 0, 1);
  const float gap = 2.5F * u;
  Rect body{header.body.x, header.body.y, header.body.w, footer.y - header.body.y - 3.F * u};
  if (view.offline) {
    // What the screen can and cannot say, and why paying is not offered, above everything.
    const float pad = 2.F * u;
    Panel panel(ui, body.x, body.y, body.w);
    const float h = drawText(ui, "account.offline", ui.fonts.body, ui.tr("account.offline"),
                             body.x + pad, body.y + pad, body.w - 2.F * pad, ui.theme.warn);
    panel.close(body.y + h + 2.F * pad);
    body.y += h + 2.F * pad + gap;
    body.h -= h + 2.F * pad + gap;
  }

  // The chart takes what is left of its column; a notice about paid credit waiting for this
  // card goes under it.
  const float pendingH = view.pendingTokens > 0 ? ui.fonts.body->FontSize * 2.4F + gap : 0.F;
  Rect chart;
  if (ui.size.x > ui.size.y) {
    // Three columns: who and how much | fees and recent top-ups | the consumption chart.
    const float colW = (body.w - 2.F * gap) / 3.F;
    drawSummary(ui, view, Rect{body.x, body.y, colW, 0});
    const float mx = body.x + colW + gap;
    float my = body.y;
    my += drawFees(ui, view, Rect{mx, my, colW, 0}) + gap;
    drawRecent(ui, view, Rect{mx, my, colW, 0});
    chart = Rect{mx + colW + gap, body.y, colW, body.h - pendingH};
  } else {
    float y = body.y;
    y += drawSummary(ui, view, Rect{body.x, y, body.w, 0}) + gap;
    // Fees and recent top-ups side by side, so the chart keeps room to be read.
    const float halfW = (body.w - gap) * 0.5F;
    const float feesH = drawFees(ui, view, Rect{body.x, y, halfW, 0});
    const float recentH = drawRecent(ui, view, Rect{body.x + halfW + gap, y, halfW, 0});
    y += std::max(feesH, recentH) + gap;
    chart = Rect{body.x, y, body.w, body.bottom() - y - pendingH};
  }
  drawUsage(ui, view, chart);
  if (view.pendingTokens > 0) {
    drawText(ui, "account.pending", ui.fonts.body, ui.trf("account.pending", view.pendingTokens),
             chart.x, chart.bottom() + gap, chart.w, ui.theme.accent);
  }
  // When paying is not possible the button is disabled and its reason stands beside it.
  const bool payable = view.payable();
  const Rect button = payable ? footer : footerButtonRect(ui, 1, 2);
  if (!payable) {
    const Rect reason = footerButtonRect(ui, 0, 2);
    const float h = ui.fonts.body->FontSize * 2.4F;
    drawText(ui, "account.topup_reason", ui.fonts.body,
             ui.tr(view.offline ? "account.topup_offline" : "account.topup_card_full"), reason.x,
             reason.y + std::max(0.F, (reason.h - h) * 0.5F), reason.w, ui.theme.warn);
  }
  if (touchButton(ui, "##account.topup", ui.fonts.large, ui.tr("account.topup"),
                  ImVec2(button.x, button.y), ImVec2(button.w, button.h), true, payable)) {
    intent.kind = Intent::Kind::TopUp;
  }
  return intent;
}

}  // namespace kiosk::ui
