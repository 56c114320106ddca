#pragma once
// The kiosk application's UI: the window, its fonts and texts, then either the screen gallery
// (sample contents) or the kiosk at work.

#include <functional>

#include "kiosk/i18n.hpp"
#include "kiosk/options.hpp"
#include "kiosk/runtime.hpp"
#include "platform/gfx/fonts.hpp"
#include "platform/gfx/window.hpp"

namespace kiosk::app {

// What runUi made, for whatever runs in the window.
struct UiParts {
  platform::Window& window;
  platform::FontAtlas& atlas;
  const Strings& strings;
  // The kiosk's screen: the window's left part this wide, the panel's column beside it
  // (AppOptions::panelColumn); the window's width when there is none.
  int screenWidth = 0;
};

// The kiosk at work in the window (a real kiosk's runtime, or a simulator's); the exit code.
using LiveRun = std::function<int(const UiParts&)>;

// Opens the window and runs until quit (or until the screenshot is written, or the gallery is
// complete). With --screen or --gallery, or without `live`, it shows the sample screens;
// otherwise `live`. Returns the exit code (kRestartExitCode: start again).
int runUi(const AppOptions& options, const LiveRun& live);

// A real kiosk: a Runtime from these options, started, run in the window loop, stopped.
int runKiosk(const UiParts& ui, const AppOptions& options, const RuntimeOptions& runtimeOptions);

}  // namespace kiosk::app
