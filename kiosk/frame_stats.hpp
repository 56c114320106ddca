#pragma once
// Frame timing for the UI benchmark (bench/ui_bench.cpp): draws one screen continuously and
// reports each frame's time as JSON, and logs the moment the first frame reaches the screen.

#include "kiosk/i18n.hpp"
#include "kiosk/ui/screens.hpp"

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace kiosk::platform {
class Window;
class FontAtlas;
}  // namespace kiosk::platform

namespace kiosk::app {

// Logs "first frame presented" once, after the first buffer swap of the process.
class FirstFrameLog {
 public:
  void presented();

 private:
  bool m_logged = false;
};

// Draws `draw` as fast as the window allows: a few frames to settle (the atlas may grow), then
// `frames` timed frames, each presented. Writes one JSON object to `out`:
//   {"screen":NAME,"width":W,"height":H,"frames":N,"frame_ms":[...],"draw_ms":[...],
//    "p50_ms":..,"p95_ms":..,"max_ms":..}
// frame_ms runs from the start of a frame to the return of its buffer swap; draw_ms stops when
// the draw commands are issued (ImGui and the screen's code, not the rasteriser). Returns the
// exit code.
int runFrameStats(platform::Window& window, platform::FontAtlas& atlas, const Strings& strings,
                  Lang lang, const std::string& screen, int frames, std::ostream& out,
                  const std::function<ui::Intent(ui::Ui&)>& draw);

// The p-th percentile (0..100) of `values`, nearest rank; 0 when empty.
double percentile(std::vector<double> values, double p);

}  // namespace kiosk::app
