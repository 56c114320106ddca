#pragma once
// The kiosk application's UI main loop.

#include "kiosk/options.hpp"

namespace kiosk::app {

// Runs the window until quit (or until the screenshot is written). Returns the exit code.
int runUi(const AppOptions& options);

}  // namespace kiosk::app
