#include "kiosk/ui/screens.hpp"

#include <algorithm>

namespace kiosk::ui {

Intent drawPay(Ui& ui, const app::PayView& view) {
  Intent intent;
  const auto header = drawHeader(ui, "pay.title", "common.cancel");
  if (header.switchLanguage) intent.kind = Intent::Kind::SwitchLanguage;
  if (header.leftButton) intent.kind = Intent::Kind::Cancel;
  const float u = ui.unit();
  const Rect body = header.body;
  const bool landscape = ui.size.x > ui.size.y;

  const float qrSide = landscape ? std::min(body.h * 0.92F, body.w * 0.45F)
                                 : std::min(body.w * 0.72F, body.h * 0.5F);
  const Rect qr = landscape ? Rect{body.x + body.w * 0.25F - qrSide * 0.5F, body.y, qrSide, qrSide}
                            : Rect{body.x + (body.w - qrSide) * 0.5F, body.y, qrSide, qrSide};
  drawQr(ui, view.payUrl, qr);

  const float x = landscape ? body.x + body.w * 0.52F : body.x;
  const float w = landscape ? body.right() - x : body.w;
  float y = landscape ? body.y : qr.bottom() + 4.F * u;
  if (!view.reachable) {
    // The outcome is unknown while the cloud does not answer: say so, in words, not colour.
    Panel panel(ui, x, y, w);
    const float pad = 2.F * u;
    const float h = drawText(ui, "pay.offline", ui.fonts.body, ui.tr("pay.offline"), x + pad,
                             y + pad, w - 2.F * pad, ui.theme.warn);
    panel.close(y + h + 2.F * pad);
    y += h + 2.F * pad + 3.F * u;
  }
  y += drawText(ui, "pay.hint", ui.fonts.body, ui.tr("pay.hint"), x, y, w, ui.theme.textDim);
  y += 3.F * u;
  y += drawText(ui, "pay.amount", ui.fonts.body, ui.tr("pay.amount"), x, y, w, ui.theme.textDim);
  y += drawText(ui, "pay.amount.value", ui.fonts.title, app::formatMoney(view.amountMinor), x, y,
                w, ui.theme.accent);
  if (view.feesMinor > 0) {
    y += drawText(ui, "pay.split", ui.fonts.small,
                  ui.tr("amount.split_fees") + " " + app::formatMoney(view.feesMinor) + "  ·  " +
                      ui.tr("amount.split_credit") + " " + app::formatMoney(view.creditMinor),
                  x, y, w, ui.theme.textDim);
  }
  y += 3.F * u;
  y += drawText(ui, "pay.countdown", ui.fonts.large, ui.trf("common.seconds_left", view.secondsLeft),
                x, y, w, view.secondsLeft <= 15 ? ui.theme.warn : ui.theme.text);
  y += 3.F * u;
  drawText(ui, "pay.keep_card", ui.fonts.body, ui.tr("pay.keep_card"), x, y, w, ui.theme.warn);
  return intent;
}

}  // namespace kiosk::ui
