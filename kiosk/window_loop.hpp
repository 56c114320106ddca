#pragma once
// The kiosk at work in its window: draws the resident flow of a running Runtime (engine,
// reader, cloud), turns presses into the flow's input, and hosts maintenance mode. A simulator
// (kiosk-sim) adds its clock, its panel and its scripted demo through a LoopExtension.

#include <chrono>
#include <optional>
#include <string>

#include "kiosk/i18n.hpp"
#include "kiosk/options.hpp"
#include "kiosk/runtime.hpp"
#include "kiosk/ui/layout_probe.hpp"
#include "kiosk/ui/widgets.hpp"
#include "platform/gfx/fonts.hpp"
#include "platform/gfx/window.hpp"

namespace kiosk::app {

// What a simulator adds to the window loop. Called on the UI thread only; no I/O in any call.
class LoopExtension {
 public:
  virtual ~LoopExtension() = default;
  // The clock the screens show (a simulator's can be moved forward).
  virtual const platform::Clock& clock() const = 0;
  // True when something the screen shows changed since the last call (draw again).
  virtual bool changed() = 0;
  // True while a script drives the kiosk: the loop never sleeps.
  virtual bool scripted() const = 0;
  // True when the script wants the screen captured as it is now, although that screen was
  // captured before (a dashboard after its reader test); shotTaken() says it was.
  virtual bool wantsShot() const = 0;
  virtual void shotTaken() = 0;
  // Draws the panel into `column`, beside the kiosk's screen; true when something on it was
  // pressed.
  virtual bool drawPanel(ui::Ui& ui, const ui::Rect& column, Runtime& runtime) = 0;
  // After each frame: the script's next move. `current` is the screen shown, `captured` the
  // last screen written to the shots folder. A value ends the loop with that exit code.
  virtual std::optional<int> afterFrame(Runtime& runtime, const std::string& current,
                                        const std::string& captured) = 0;
};

struct LoopContext {
  platform::Window& window;
  platform::FontAtlas& atlas;
  const Strings& strings;
  const AppOptions& options;
  Runtime& runtime;
  LoopExtension* extension = nullptr;  // kiosk-sim
  int screenWidth = 0;  // the kiosk's screen; the rest of the window is the panel's column
};

// Exit code asking main() to start the kiosk again (maintenance: restart the application).
inline constexpr int kRestartExitCode = 75;

// Runs until the window closes (or the extension ends it, or a screenshot was written).
// Returns the exit code.
int runWindowLoop(LoopContext context);

// Shared with the screen gallery (app.cpp).
std::string localClock(const platform::Clock& clock);
// Milliseconds until the next minute starts (the footer clock's next change).
std::chrono::milliseconds untilNextMinute(const platform::Clock& clock);
// FILE.png and FILE.layout.json; false (logged) when either cannot be written.
bool writeScreenshot(const platform::Image& image, const ui::LayoutProbe& probe,
                     const std::string& path, const std::string& screen, Lang lang);

}  // namespace kiosk::app
