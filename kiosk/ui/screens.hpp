#pragma once
// The kiosk's screens. A screen is a function of a view model that returns what the resident
// pressed; it never blocks, does no I/O and owns no domain state.

#include "kiosk/ui/widgets.hpp"

#include <string>

namespace kiosk::ui {

enum class Intent { None, SwitchLanguage };

struct AttractView {
  std::string kioskId;
  std::string clock;  // "2026-11-23 08:15", already formatted
  bool simulation = false;
};

Intent drawAttract(Ui& ui, const AttractView& view);

// Opens the full-window ImGui host window that screens draw into; pair with endScreen().
void beginScreen(Ui& ui);
void endScreen();

}  // namespace kiosk::ui
