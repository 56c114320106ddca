// Screens that show one state and at most one or two actions: reading, writing, done, error,
// card reinsertion and out of service.
#include "kiosk/ui/format.hpp"
#include "kiosk/ui/screens.hpp"
#include "protocol/masking.hpp"

#include <algorithm>
#include <sstream>

namespace kiosk::ui {

namespace {

// A card pictogram, centred on `centerX`, with its top at `y`; returns its height.
float drawCardIcon(Ui& ui, float centerX, float y, float width, ImU32 chip) {
  const float u = ui.unit();
  const float h = width * 0.63F;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 p(centerX - width * 0.5F, y);
  draw->AddRectFilled(p, ImVec2(p.x + width, p.y + h), IM_COL32(236, 240, 245, 255), 2.F * u);
  draw->AddRectFilled(ImVec2(p.x + width * 0.14F, p.y + h * 0.3F),
                      ImVec2(p.x + width * 0.32F, p.y + h * 0.58F), chip, 0.8F * u);
  return h;
}

std::string contactLine(Ui& ui, const app::ServiceContact& contact) {
  if (contact.phone.empty()) return {};
  return contact.hours.empty() ? ui.trf("contact.phone", contact.phone)
                               : ui.trf("contact.line", contact.phone, contact.hours);
}

// The height the contact takes in `width` (wrapped as drawText wraps it), with its margin.
float contactHeight(Ui& ui, const app::ServiceContact& contact, float width) {
  const std::string line = contactLine(ui, contact);
  if (line.empty()) return 0.F;
  ImFont* font = ui.fonts.body;
  const ImVec2 one = font->CalcTextSizeA(font->FontSize, FLT_MAX, 0.F, line.c_str());
  const ImVec2 wrapped = one.x > width ? font->CalcTextSizeA(font->FontSize, FLT_MAX, width, line.c_str()) : one;
  return wrapped.y + ui.unit();
}

// Whom to call, just above `bottom` within `area`: nothing when the configuration names no one.
void drawContact(Ui& ui, const app::ServiceContact& contact, float bottom, const Rect& area) {
  const std::string line = contactLine(ui, contact);
  if (line.empty()) return;
  const float h = contactHeight(ui, contact, area.w);
  drawText(ui, "contact", ui.fonts.body, line, area.x, bottom - h, area.w, ui.theme.text);
}

bool languageOnly(Ui& ui, const char* titleKey, Rect& body) {
  const auto header = drawHeader(ui, titleKey);
  body = header.body;
  return header.switchLanguage;
}

}  // namespace

Intent drawReading(Ui& ui) {
  Intent intent;
  Rect body;
  if (languageOnly(ui, "reading.title", body)) intent.kind = Intent::Kind::SwitchLanguage;
  const float u = ui.unit();
  float y = body.y + body.h * 0.15F;
  y += drawCardIcon(ui, ui.size.x * 0.5F, y, 40.F * u, ui.theme.accent) + 8.F * u;
  drawText(ui, "reading.detail", ui.fonts.large, ui.tr("reading.detail"), body.x, y, body.w,
           ui.theme.text);
  return intent;
}

Intent drawWriting(Ui& ui, const app::WritingView& view) {
  Intent intent;
  Rect body;
  if (languageOnly(ui, "writing.title", body)) intent.kind = Intent::Kind::SwitchLanguage;
  const float u = ui.unit();
  float y = body.y + body.h * 0.12F;
  y += drawCardIcon(ui, ui.size.x * 0.5F, y, 40.F * u, ui.theme.warn) + 8.F * u;
  y += drawText(ui, "writing.keep_card", ui.fonts.title, ui.tr("writing.keep_card"), body.x, y,
                body.w, ui.theme.warn);
  y += 6.F * u;
  const float barW = body.w * 0.8F;
  drawProgress(ui, Rect{body.x + (body.w - barW) * 0.5F, y, barW, 3.F * u},
               static_cast<float>(view.step) / static_cast<float>(std::max(1, view.steps)));
  y += 6.F * u;
  drawText(ui, "writing.step", ui.fonts.body, ui.trf("writing.step", view.step, view.steps),
           body.x, y, body.w, ui.theme.textDim);
  return intent;
}

namespace {

// The receipt's lines, in the screen's language; the time in the kiosk's zone, like its clock.
std::vector<std::string> receiptLines(Ui& ui, const app::DoneView& view) {
  std::vector<std::string> lines;
  if (!view.cardNumber.empty()) lines.push_back(ui.trf("receipt.card", protocol::maskCardNumber(view.cardNumber)));
  if (!view.meterNumber.empty()) lines.push_back(ui.trf("receipt.meter", view.meterNumber));
  for (const auto& item : view.items) {
    lines.push_back(ui.tr("receipt.order") + " " + item.orderId);
    if (item.sequence != 0) {
      lines.push_back(ui.trf("receipt.token", item.sequence, app::formatMoney(item.creditMinor)));
    }
    if (item.feesMinor != 0) lines.push_back(ui.trf("receipt.fees", app::formatMoney(item.feesMinor)));
  }
  lines.push_back(ui.trf("receipt.total", app::formatMoney(view.creditMinor)));
  if (view.at != 0) lines.push_back(ui.tr("receipt.time") + " " + formatDateTime(view.at));
  return lines;
}

}  // namespace

Intent drawDone(Ui& ui, const app::DoneView& view) {
  Intent intent;
  Rect body;
  if (languageOnly(ui, "done.title", body)) intent.kind = Intent::Kind::SwitchLanguage;
  const float u = ui.unit();
  const Rect footer = footerButtonRect(ui, 0, 1);
  const bool landscape = ui.size.x > ui.size.y;
  const float x = body.x;
  const float w = landscape ? body.w * 0.55F : body.w;
  float y = body.y + 2.F * u;
  y += drawText(ui, "done.credit", ui.fonts.body,
                ui.tr(utilityKey(view.utility)) + " · " + ui.tr("done.credit"), x, y, w,
                ui.theme.textDim);
  y += drawText(ui, "done.credit.value", ui.fonts.title, app::formatMoney(view.creditMinor), x, y,
                w, ui.theme.good);
  if (view.feesPaidMinor > 0) {
    y += drawText(ui, "done.fees", ui.fonts.body,
                  ui.tr("done.fees") + " " + app::formatMoney(view.feesPaidMinor), x, y, w,
                  ui.theme.textDim);
  }
  y += 4.F * u;
  y += drawText(ui, "done.next", ui.fonts.large, ui.tr("done.next"), x, y, w, ui.theme.text);
  y += 4.F * u;

  // The receipt: a QR link for the phone, and the printable text beside or under it.
  const float qrSide = landscape ? std::min(body.w * 0.3F, footer.y - body.y - 16.F * u)
                                 : std::min(body.w * 0.36F, footer.y - y - 20.F * u);
  const Rect qr = landscape ? Rect{body.x + body.w * 0.62F, body.y + 2.F * u, qrSide, qrSide}
                            : Rect{body.x, y, qrSide, qrSide};
  // No link (a cloud without a receipt page): the printed text alone, no empty square.
  if (!view.receiptUrl.empty()) {
    drawQr(ui, view.receiptUrl, qr);
    drawText(ui, "done.receipt", ui.fonts.small, ui.tr("done.receipt"), qr.x, qr.bottom() + u,
             qrSide + (landscape ? body.right() - qr.right() : 0.F), ui.theme.textDim,
             Align::Left);
  }
  if (!landscape) {
    const float tx = qr.right() + 4.F * u;
    float ty = qr.y;
    int index = 0;
    for (const std::string& line : receiptLines(ui, view)) {
      if (ty + ui.fonts.small->FontSize >= footer.y - 2.F * u) break;
      ty += drawText(ui, ("done.receipt" + std::to_string(index++)).c_str(), ui.fonts.small, line,
                     tx, ty, body.right() - tx, ui.theme.textDim, Align::Left);
    }
  }
  if (touchButton(ui, "##done.finish", ui.fonts.large, ui.tr("common.finish"),
                  ImVec2(footer.x, footer.y), ImVec2(footer.w, footer.h), true)) {
    intent.kind = Intent::Kind::Finish;
  }
  return intent;
}

Intent drawError(Ui& ui, const app::ErrorView& view) {
  Intent intent;
  Rect body;
  if (languageOnly(ui, view.titleKey.c_str(), body)) intent.kind = Intent::Kind::SwitchLanguage;
  const float u = ui.unit();
  const bool landscape = ui.size.x > ui.size.y;
  const Rect footer = footerButtonRect(ui, 0, 1);
  // The order's page, where the resident sees how it ended once the cloud knows: beside the
  // text on a wide screen, under it on a tall one.
  const bool qrBeside = landscape && !view.receiptUrl.empty();
  const Rect text = qrBeside ? Rect{body.x, body.y, body.w * 0.64F, body.h} : body;
  float y = body.y + body.h * (landscape ? 0.02F : 0.08F);
  // A round warning mark, smaller when the screen is short.
  const float r = (landscape ? 6.F : 10.F) * u;
  const float cx = text.x + text.w * 0.5F;
  ImDrawList* draw = ImGui::GetWindowDrawList();
  draw->AddCircleFilled(ImVec2(cx, y + r), r, ui.theme.warn, 48);
  draw->AddRectFilled(ImVec2(cx - 1.2F * u, y + r * 0.45F), ImVec2(cx + 1.2F * u, y + r * 1.2F),
                      ui.theme.backgroundTop, u);
  draw->AddCircleFilled(ImVec2(cx, y + r * 1.5F), 1.4F * u, ui.theme.backgroundTop);
  y += 2.F * r + (landscape ? 3.F : 6.F) * u;
  y += drawText(ui, "error.detail", ui.fonts.large, ui.tr(view.detailKey), text.x, y, text.w,
                ui.theme.text);
  y += 4.F * u;
  y += drawText(ui, "error.action", ui.fonts.body, ui.tr(view.actionKey), text.x, y, text.w,
                ui.theme.textDim);
  y += 4.F * u;
  if (!view.orderId.empty()) {
    y += drawText(ui, "error.order", ui.fonts.body, ui.trf("error.order", view.orderId), text.x, y,
                  text.w, ui.theme.text);
    y += 2.F * u;
  }
  if (!view.code.empty()) {
    y += drawText(ui, "error.code", ui.fonts.small, ui.trf("error.code", view.code), text.x, y,
                  text.w, ui.theme.textDim);
  }
  if (!view.receiptUrl.empty()) {
    const float caption = ui.fonts.small->FontSize * 1.4F;
    const float top = qrBeside ? body.y + 4.F * u : y + 2.F * u;
    const float across = qrBeside ? body.right() - text.right() - 4.F * u : body.w * 0.3F;
    const float contactH = contactHeight(ui, view.contact, qrBeside ? body.right() - text.right() : body.w);
    const float side = std::min(across, footer.y - top - caption - 4.F * u - contactH);
    const float left = qrBeside ? text.right() + 4.F * u : body.x;
    const float width = qrBeside ? body.right() - left : body.w;
    const Rect qr{left + (width - side) * 0.5F, top, side, side};
    drawQr(ui, view.receiptUrl, qr);
    drawText(ui, "error.receipt", ui.fonts.small, ui.tr("error.receipt"), left, qr.bottom() + u,
             width, ui.theme.textDim);
  }
  // Under the QR code when it stands beside the text, else across the screen.
  const Rect contactArea = qrBeside ? Rect{text.right(), body.y, body.right() - text.right(), body.h} : body;
  drawContact(ui, view.contact, footer.y, contactArea);
  const int buttons = view.canRetry ? 2 : 1;
  if (view.canRetry) {
    const Rect retry = footerButtonRect(ui, 0, 2);
    if (touchButton(ui, "##error.retry", ui.fonts.large, ui.tr("common.retry"),
                    ImVec2(retry.x, retry.y), ImVec2(retry.w, retry.h), true)) {
      intent.kind = Intent::Kind::Retry;
    }
  }
  const Rect finish = footerButtonRect(ui, buttons - 1, buttons);
  if (touchButton(ui, "##error.finish", ui.fonts.large, ui.tr("common.finish"),
                  ImVec2(finish.x, finish.y), ImVec2(finish.w, finish.h))) {
    intent.kind = Intent::Kind::Finish;
  }
  return intent;
}

Intent drawReinsert(Ui& ui, const app::ReinsertView& view) {
  Intent intent;
  Rect body;
  if (languageOnly(ui, "reinsert.title", body)) intent.kind = Intent::Kind::SwitchLanguage;
  const float u = ui.unit();
  float y = body.y + body.h * 0.08F;
  y += drawCardIcon(ui, ui.size.x * 0.5F, y, 36.F * u, ui.theme.warn) + 6.F * u;
  if (view.wrongCard) {
    y += drawText(ui, "reinsert.wrong_card", ui.fonts.large, ui.tr("reinsert.wrong_card"), body.x,
                  y, body.w, ui.theme.bad);
    y += 3.F * u;
  }
  y += drawText(ui, "reinsert.detail", ui.fonts.large, ui.tr("reinsert.detail"), body.x, y, body.w,
                ui.theme.text);
  // The number on a line of its own, so it is never wrapped between its groups.
  y += drawText(ui, "reinsert.card", ui.fonts.large, protocol::maskCardNumber(view.cardNumber), body.x,
                y + u, body.w, ui.theme.accent) + u;
  y += 4.F * u;
  y += drawText(ui, "reinsert.countdown", ui.fonts.large,
                ui.trf("common.seconds_left", view.secondsLeft), body.x, y, body.w,
                ui.theme.accent);
  y += 4.F * u;
  drawText(ui, "reinsert.pending", ui.fonts.body, ui.tr("reinsert.pending"), body.x, y, body.w,
           ui.theme.textDim);
  return intent;
}

Intent drawTakeCard(Ui& ui, const app::TakeCardView& view) {
  Intent intent;
  Rect body;
  if (languageOnly(ui, "take_card.title", body)) intent.kind = Intent::Kind::SwitchLanguage;
  const float u = ui.unit();
  float y = body.y + body.h * 0.08F;
  y += drawCardIcon(ui, ui.size.x * 0.5F, y, 36.F * u, ui.theme.accent) + 6.F * u;
  y += drawText(ui, "take_card.detail", ui.fonts.large, ui.tr("take_card.detail"), body.x, y,
                body.w, ui.theme.accent);
  y += 4.F * u;
  y += drawText(ui, "take_card.next", ui.fonts.body, ui.tr("take_card.next"), body.x, y, body.w,
                ui.theme.textDim);
  drawContact(ui, view.contact, body.bottom(), body);
  if (!view.receiptUrl.empty()) {
    const float caption = ui.fonts.small->FontSize * 1.4F;
    const float contactH = contactHeight(ui, view.contact, body.w);
    const float side = std::min(body.w * 0.25F, body.bottom() - y - caption - 8.F * u - contactH);
    if (side > 12.F * u) {
      const Rect qr{body.x + (body.w - side) * 0.5F, y + 4.F * u, side, side};
      drawQr(ui, view.receiptUrl, qr);
      drawText(ui, "done.receipt", ui.fonts.small, ui.tr("done.receipt"), body.x, qr.bottom() + u,
               body.w, ui.theme.textDim);
    }
  }
  return intent;
}

Intent drawOutOfService(Ui& ui, const app::OutOfServiceView& view) {
  Intent intent;
  Rect body;
  if (languageOnly(ui, "oos.title", body)) intent.kind = Intent::Kind::SwitchLanguage;
  const float u = ui.unit();
  float y = body.y + body.h * 0.2F;
  y += drawText(ui, "oos.reason", ui.fonts.large, ui.tr(view.reasonKey), body.x, y, body.w,
                ui.theme.warn);
  y += 4.F * u;
  drawText(ui, "oos.detail", ui.fonts.body, ui.tr("oos.detail"), body.x, y, body.w,
           ui.theme.textDim);
  drawContact(ui, view.contact, body.bottom(), body);
  return intent;
}

}  // namespace kiosk::ui
