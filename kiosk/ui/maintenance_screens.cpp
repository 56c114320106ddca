// Maintenance mode: the staff PIN pad and the dashboard. Same rules as the resident screens:
// functions of a view model that return what was pressed.
#include "kiosk/ui/format.hpp"
#include "kiosk/ui/screens.hpp"
#include "protocol/masking.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace kiosk::ui {

Intent drawPinPad(Ui& ui, const app::PinView& view) {
  Intent intent;
  const auto header = drawHeader(ui, "pin.title", "common.back");
  if (header.switchLanguage) intent.kind = Intent::Kind::SwitchLanguage;
  if (header.leftButton) intent.kind = Intent::Kind::Back;
  const float u = ui.unit();
  const Rect body = header.body;
  const bool landscape = ui.size.x > ui.size.y;
  const float colW = landscape ? body.w * 0.45F : body.w;
  float y = body.y;
  y += drawText(ui, "pin.prompt", ui.fonts.large, ui.tr("pin.prompt"), body.x, y, colW,
                ui.theme.text);
  y += 3.F * u;
  // One dot per digit typed; the PIN itself is never drawn.
  const float dot = 2.F * u;
  const float dotsW = static_cast<float>(std::max(view.digits, 1)) * dot * 3.F;
  float dx = body.x + (colW - dotsW) * 0.5F + dot * 1.5F;
  for (int i = 0; i < view.digits; ++i, dx += dot * 3.F) {
    ImGui::GetWindowDrawList()->AddCircleFilled(ImVec2(dx, y + dot), dot, ui.theme.text, 24);
  }
  y += 2.F * dot + 3.F * u;
  if (view.lockedSeconds > 0) {
    y += drawText(ui, "pin.locked", ui.fonts.body, ui.trf("pin.locked", view.lockedSeconds),
                  body.x, y, colW, ui.theme.bad);
  } else if (view.rejected) {
    y += drawText(ui, "pin.wrong", ui.fonts.body, ui.tr("pin.wrong"), body.x, y, colW,
                  ui.theme.bad);
  }
  y += 3.F * u;

  const Rect footer = footerButtonRect(ui, 0, 1);
  const Rect pad = landscape ? Rect{body.x + body.w * 0.5F, body.y, body.w * 0.5F,
                                    footer.y - body.y - 3.F * u}
                             : Rect{body.x, y, body.w, footer.y - y - 3.F * u};
  applyKeypad(drawKeypad(ui, "pin", pad, 12.F * u), intent);
  if (touchButton(ui, "##pin.enter", ui.fonts.large, ui.tr("pin.enter"),
                  ImVec2(footer.x, footer.y), ImVec2(footer.w, footer.h), true)) {
    intent.kind = Intent::Kind::SignIn;
  }
  return intent;
}

namespace {

float drawHealth(Ui& ui, const app::MaintenanceView& view, const Rect& area) {
  const float u = ui.unit();
  const float pad = 2.5F * u;
  Panel panel(ui, area.x, area.y, area.w);
  const float x = area.x + pad;
  const float w = area.w - 2.F * pad;
  float y = area.y + pad;
  y += drawText(ui, "maint.health", ui.fonts.small, ui.tr("maint.health"), x, y, w,
                ui.theme.textDim, Align::Left);
  int index = 0;
  for (const auto& item : view.health) {
    const std::string id = "maint.health" + std::to_string(index++);
    const float nameW = w * 0.34F;
    const float stateW = w * 0.18F;
    drawText(ui, (id + ".name").c_str(), ui.fonts.body, ui.tr(item.nameKey), x, y, nameW,
             ui.theme.text, Align::Left);
    drawText(ui, (id + ".state").c_str(), ui.fonts.body,
             ui.tr(item.ok ? "maint.ok" : "maint.fault"), x + nameW, y, stateW,
             item.ok ? ui.theme.good : ui.theme.bad, Align::Left);
    y += drawText(ui, (id + ".detail").c_str(), ui.fonts.body, ui.trv(item.detailKey, item.args),
                  x + nameW + stateW, y, w - nameW - stateW, ui.theme.textDim, Align::Right);
  }
  y += u;
  y += drawText(ui, "maint.outbox", ui.fonts.small, ui.trf("maint.outbox", view.outboxBacklog),
                x, y, w, view.outboxBacklog > 100 ? ui.theme.warn : ui.theme.textDim, Align::Left);
  y += drawText(ui, "maint.last_sync", ui.fonts.small,
                ui.trf("maint.last_sync", view.lastSync > 0 ? formatDateTime(view.lastSync)
                                                            : ui.tr("maint.never")),
                x, y, w, ui.theme.textDim, Align::Left);
  y += drawText(ui, "maint.config", ui.fonts.small, ui.trf("maint.config", view.configVersion), x,
                y, w, ui.theme.textDim, Align::Left);
  panel.close(y + pad);
  return panel.height();
}

float drawAttention(Ui& ui, const app::MaintenanceView& view, const Rect& area, Intent& intent) {
  const float u = ui.unit();
  const float pad = 2.5F * u;
  Panel panel(ui, area.x, area.y, area.w);
  const float x = area.x + pad;
  const float w = area.w - 2.F * pad;
  float y = area.y + pad;
  y += drawText(ui, "maint.attention", ui.fonts.small, ui.tr("maint.attention"), x, y, w,
                ui.theme.textDim, Align::Left);
  if (view.attention.empty()) {
    y += drawText(ui, "maint.attention_none", ui.fonts.body, ui.tr("maint.attention_none"), x, y,
                  w, ui.theme.good, Align::Left);
  }
  const float buttonW = 18.F * u;
  const float rowH = 8.F * u;
  for (std::size_t i = 0; i < view.attention.size() && i < 4; ++i) {
    const auto& item = view.attention[i];
    const std::string id = "maint.attention" + std::to_string(i);
    const float textW = w - buttonW - 2.F * u;
    drawText(ui, (id + ".order").c_str(), ui.fonts.small,
             item.orderId + "  " + protocol::maskCardNumber(item.cardNumber) + "  " +
                 app::formatMoney(item.amountMinor),
             x, y, textW, ui.theme.text, Align::Left);
    drawText(ui, (id + ".state").c_str(), ui.fonts.small, ui.tr(item.stateKey), x,
             y + ui.fonts.small->FontSize, textW, ui.theme.warn, Align::Left);
    const std::string button = "##maint.resolve" + std::to_string(i);
    if (touchButton(ui, button.c_str(), ui.fonts.body, ui.tr("maint.resolve"),
                    ImVec2(x + w - buttonW, y), ImVec2(buttonW, rowH - u))) {
      intent = {Intent::Kind::Resolve, static_cast<int>(i)};
    }
    y += rowH;
  }
  panel.close(y + pad);
  return panel.height();
}

std::string consumption(std::uint64_t milliUnits) {
  return fmt::format("{}.{}", milliUnits / 1000, milliUnits % 1000 / 100);
}

// The lines of a reader test's result, file by file, in the screen's language: id and text.
std::vector<std::pair<std::string, std::string>> readerTestLines(Ui& ui, const app::ReaderTestView& test) {
  if (!test.problemKey.empty()) return {{"maint.test.problem", ui.trf("maint.test.problem", ui.tr(test.problemKey))}};
  std::vector<std::pair<std::string, std::string>> lines;
  const std::string& unit = ui.tr(unitKey(test.utility));
  lines.emplace_back("maint.test.id",
                     ui.trf("maint.test.id", protocol::maskCardNumber(test.cardNumber),
                            ui.tr(test.staffCard ? "maint.test.kind.staff" : "maint.test.kind.resident"),
                            ui.tr(test.utility == app::Utility::Water ? "maint.test.utility.water"
                                                                     : "maint.test.utility.electricity"),
                            test.meterNumber, test.accountNumber));
  std::string credit = ui.trf("maint.test.credit", test.tokens.size(), test.freeRecords);
  if (!test.tokens.empty()) {
    std::string tokens;
    for (const auto& token : test.tokens) {
      if (!tokens.empty()) tokens += " ";
      tokens += ui.trf("maint.test.token", token.sequence, app::formatMoney(token.amountMinor));
    }
    credit += ui.trf("maint.test.credit_tokens", tokens);
  }
  lines.emplace_back("maint.test.credit", credit);
  if (const auto& meter = test.meter) {
    std::string line = ui.trf("maint.test.return", app::formatMoney(meter->remainingMinor),
                              consumption(meter->milliUnits), unit, meter->lastSequence,
                              formatDateTime(meter->at));
    if (meter->cutOff) line += ui.tr("maint.test.flag.cut_off");
    if (meter->tamper) line += ui.tr("maint.test.flag.tamper");
    if (meter->lowBalance) line += ui.tr("maint.test.flag.low_balance");
    lines.emplace_back("maint.test.return", line);
  } else {
    lines.emplace_back("maint.test.return", ui.tr("maint.test.return_none"));
  }
  if (const auto& tariff = test.tariff) {
    lines.emplace_back("maint.test.params",
                       ui.trf("maint.test.params", app::formatMoney(tariff->priceMinorPerUnit), unit,
                              app::formatMoney(tariff->alarmsMinor[0]),
                              app::formatMoney(tariff->alarmsMinor[1]),
                              app::formatMoney(tariff->alarmsMinor[2]),
                              app::formatMoney(tariff->overdraftMinor)));
  } else {
    lines.emplace_back("maint.test.params", ui.tr("maint.test.params_none"));
  }
  return lines;
}

// The reader test's result in a panel of its own, every line whole (wrapped inside it).
float drawReaderTest(Ui& ui, const app::ReaderTestView& test, const Rect& area) {
  const float u = ui.unit();
  const float pad = 2.5F * u;
  const float x = area.x + pad;
  const float w = area.w - 2.F * pad;
  ImFont* font = ui.fonts.small;
  const auto lines = readerTestLines(ui, test);
  // The panel's height first, so that the lines can be recorded inside it.
  float height = 2.F * pad + font->CalcTextSizeA(font->FontSize, FLT_MAX, w, ui.tr("maint.test.title").c_str()).y;
  for (const auto& [id, text] : lines) {
    height += font->CalcTextSizeA(font->FontSize, FLT_MAX, w, text.c_str()).y;
  }
  const Rect panel{area.x, area.y, area.w, height};
  drawPanel(ui, panel);
  float y = area.y + pad;
  y += drawText(ui, "maint.test.title", font, ui.tr("maint.test.title"), x, y, w,
                test.problemKey.empty() ? ui.theme.good : ui.theme.bad, Align::Left, nullptr, &panel);
  for (const auto& [id, text] : lines) {
    y += drawText(ui, id.c_str(), font, text, x, y, w, ui.theme.text, Align::Left, nullptr, &panel);
  }
  return height;
}

void drawLogs(Ui& ui, const app::MaintenanceView& view, const Rect& area) {
  const float u = ui.unit();
  const float pad = 2.5F * u;
  // Where the panels above took the room (a landscape dashboard with a reader test's result),
  // the log gives way rather than run into the buttons below.
  if (area.h < 2.F * pad + 2.F * ui.fonts.small->FontSize) return;
  drawPanel(ui, area);
  const float x = area.x + pad;
  const float w = area.w - 2.F * pad;
  float y = area.y + pad;
  y += drawText(ui, "maint.logs", ui.fonts.small, ui.tr("maint.logs"), x, y, w, ui.theme.textDim,
                Align::Left);
  // The newest lines that fit, oldest of them first, each whole: a long one wraps inside the
  // panel and takes the room of several.
  ImFont* font = ui.fonts.small;
  const float bottom = area.bottom() - pad;
  float room = bottom - y;
  std::size_t first = view.recentLogs.size();
  while (first > 0) {
    const std::string& line = view.recentLogs[first - 1];
    const float height = font->CalcTextSizeA(font->FontSize, FLT_MAX, w, line.c_str()).y;
    if (height > room) break;
    room -= height;
    --first;
  }
  for (std::size_t i = first; i < view.recentLogs.size(); ++i) {
    y += drawText(ui, ("maint.log" + std::to_string(i)).c_str(), font, view.recentLogs[i], x, y, w,
                  ui.theme.textDim, Align::Left, nullptr, &area);
  }
}

}  // namespace

Intent drawMaintenance(Ui& ui, const app::MaintenanceView& view) {
  Intent intent;
  const auto header = drawHeader(ui, "maint.title", "maint.exit");
  if (header.switchLanguage) intent.kind = Intent::Kind::SwitchLanguage;
  if (header.leftButton) intent.kind = Intent::Kind::ExitMaintenance;
  const float u = ui.unit();
  const float gap = 2.F * u;
  const Rect footer = footerButtonRect(ui, 0, 3);
  const Rect body{header.body.x, header.body.y, header.body.w, footer.y - header.body.y - gap};
  float y = body.y;
  y += drawText(ui, "maint.staff", ui.fonts.body, ui.trf("maint.staff", view.staffName), body.x, y,
                body.w, ui.theme.accent, Align::Left);
  y += u;
  if (ui.size.x > ui.size.y) {
    const float colW = (body.w - gap) * 0.5F;
    drawHealth(ui, view, Rect{body.x, y, colW, 0});
    const float rx = body.x + colW + gap;
    float ry = y + drawAttention(ui, view, Rect{rx, y, colW, 0}, intent) + gap;
    if (view.readerTest) ry += drawReaderTest(ui, *view.readerTest, Rect{rx, ry, colW, 0}) + gap;
    drawLogs(ui, view, Rect{rx, ry, colW, body.bottom() - ry});
  } else {
    y += drawHealth(ui, view, Rect{body.x, y, body.w, 0}) + gap;
    y += drawAttention(ui, view, Rect{body.x, y, body.w, 0}, intent) + gap;
    if (view.readerTest) y += drawReaderTest(ui, *view.readerTest, Rect{body.x, y, body.w, 0}) + gap;
    drawLogs(ui, view, Rect{body.x, y, body.w, body.bottom() - y});
  }
  // A running reader test or restart says so on its button; the rest wait for the restart.
  const struct {
    const char* id;
    const char* key;
    Intent::Kind kind;
    bool busy;
  } kActions[3] = {
      {"##maint.reader_test", view.readerTesting ? "maint.reader_testing" : "maint.reader_test",
       Intent::Kind::ReaderTest, view.readerTesting || view.restarting},
      {"##maint.sync", "maint.sync", Intent::Kind::SyncNow, view.restarting},
      {"##maint.restart", view.restarting ? "maint.restarting" : "maint.restart",
       Intent::Kind::Restart, view.restarting}};
  for (int i = 0; i < 3; ++i) {
    const Rect r = footerButtonRect(ui, i, 3);
    ImGui::BeginDisabled(kActions[i].busy);
    if (touchButton(ui, kActions[i].id, ui.fonts.body, ui.tr(kActions[i].key), ImVec2(r.x, r.y),
                    ImVec2(r.w, r.h))) {
      intent.kind = kActions[i].kind;
    }
    ImGui::EndDisabled();
  }
  return intent;
}

}  // namespace kiosk::ui
