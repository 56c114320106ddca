#pragma once
// The kiosk application's UI main loop.

#include "kiosk/options.hpp"
#include "kiosk/runtime.hpp"

namespace kiosk::app {

// Runs the window until quit (or until the screenshot is written, or the demo ends). `live`:
// the runtime for a real kiosk (cloud, reader); simulation mode makes its own; with neither,
// the screen gallery's sample screens. Returns the exit code (kRestartExitCode: start again).
int runUi(const AppOptions& options, const RuntimeOptions* live = nullptr);

}  // namespace kiosk::app
