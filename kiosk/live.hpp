#pragma once
// The kiosk at work: the window draws the resident flow of a running Runtime (engine, reader,
// cloud), turns presses into the flow's input, and hosts maintenance mode and, in simulation,
// the simulation panel and the scripted demo.

#include <chrono>
#include <string>

#include "kiosk/i18n.hpp"
#include "kiosk/options.hpp"
#include "kiosk/runtime.hpp"
#include "kiosk/sim/simulation.hpp"
#include "kiosk/ui/layout_probe.hpp"
#include "platform/gfx/fonts.hpp"
#include "platform/gfx/window.hpp"

namespace kiosk::app {

struct LiveContext {
  platform::Window& window;
  platform::FontAtlas& atlas;
  const Strings& strings;
  const AppOptions& options;
  Runtime& runtime;
  sim::Simulation* simulation = nullptr;  // simulation mode
};

// Exit code asking main() to start the kiosk again (maintenance: restart the application).
inline constexpr int kRestartExitCode = 75;

// Runs until the window closes (or the demo ends, or a screenshot was written). Exit code.
int runLive(LiveContext context);

// Shared with the screen gallery (app.cpp).
std::string localClock(const platform::Clock& clock);
// Milliseconds until the next minute starts (the footer clock's next change).
std::chrono::milliseconds untilNextMinute(const platform::Clock& clock);
// FILE.png and FILE.layout.json; false (logged) when either cannot be written.
bool writeScreenshot(const platform::Image& image, const ui::LayoutProbe& probe,
                     const std::string& path, const std::string& screen, Lang lang);

}  // namespace kiosk::app
