#pragma once
// The kiosk's screens. A screen is a function of a view model that returns what the resident
// pressed; it never blocks, does no I/O and owns no domain state.

#include "kiosk/intent.hpp"
#include "kiosk/views.hpp"
#include "kiosk/ui/widgets.hpp"

#include <cstdint>
#include <string>

namespace kiosk::ui {

using Intent = app::Intent;

struct AttractView {
  std::string kioskId;
  std::string clock;  // "2026-11-23 08:15", already formatted
  bool simulation = false;
};

Intent drawAttract(Ui& ui, const AttractView& view);
Intent drawReading(Ui& ui);
Intent drawAccount(Ui& ui, const app::AccountView& view);
Intent drawAmount(Ui& ui, const app::AmountView& view);
Intent drawPay(Ui& ui, const app::PayView& view);
Intent drawWriting(Ui& ui, const app::WritingView& view);
Intent drawDone(Ui& ui, const app::DoneView& view);
Intent drawError(Ui& ui, const app::ErrorView& view);
Intent drawReinsert(Ui& ui, const app::ReinsertView& view);
Intent drawTakeCard(Ui& ui, const app::TakeCardView& view);
Intent drawOutOfService(Ui& ui, const app::OutOfServiceView& view);
Intent drawPinPad(Ui& ui, const app::PinView& view);
Intent drawMaintenance(Ui& ui, const app::MaintenanceView& view);

// Turns a keypad press into the resident's intent (Digit, Clear, Backspace).
void applyKeypad(const KeypadPress& press, Intent& intent);

// Opens the full-window ImGui host window that screens draw into; pair with endScreen().
void beginScreen(Ui& ui);
void endScreen();

}  // namespace kiosk::ui
