#include "kiosk/frame_stats.hpp"

#include "kiosk/ui/frame.hpp"
#include "platform/gfx/fonts.hpp"
#include "platform/gfx/window.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace kiosk::app {

void FirstFrameLog::presented() {
  if (m_logged) return;
  m_logged = true;
  // The UI benchmark times the start of the process to this line.
  spdlog::info("first frame presented");
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const auto index = static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size()))) - 1;
  return values[index];
}

int runFrameStats(platform::Window& window, platform::FontAtlas& atlas, const Strings& strings,
                  Lang lang, const std::string& screen, int frames, std::ostream& out,
                  const std::function<ui::Intent(ui::Ui&)>& draw) {
  using Clock = std::chrono::steady_clock;
  const auto ms = [](Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  ui::LayoutProbe probe;
  FirstFrameLog firstFrame;
  // Settling frames (ImGui lays out over two frames, the atlas may grow) are not timed.
  constexpr int kSettleFrames = 3;
  std::vector<double> frameMs;
  std::vector<double> drawMs;
  frameMs.reserve(static_cast<std::size_t>(frames));
  drawMs.reserve(static_cast<std::size_t>(frames));
  for (int frame = -kSettleFrames; frame < frames && !window.quitRequested(); ++frame) {
    const auto start = Clock::now();
    window.waitEvents(std::chrono::milliseconds(0));
    const bool atlasGrew = ui::drawFrame(window, atlas, strings, lang, probe, draw).atlasGrew;
    const auto drawn = Clock::now();
    if (atlasGrew) {
      frame = -kSettleFrames - 1;  // settle again with the complete atlas
      continue;
    }
    window.present();
    firstFrame.presented();
    if (frame < 0) continue;
    const auto end = Clock::now();
    frameMs.push_back(ms(end - start));
    drawMs.push_back(ms(drawn - start));
  }
  const nlohmann::json report = {
      {"screen", screen},
      {"lang", std::string(langCode(lang))},
      {"width", window.width()},
      {"height", window.height()},
      {"frames", frameMs.size()},
      {"frame_ms", frameMs},
      {"draw_ms", drawMs},
      {"p50_ms", percentile(frameMs, 50)},
      {"p95_ms", percentile(frameMs, 95)},
      {"max_ms", frameMs.empty() ? 0.0 : *std::max_element(frameMs.begin(), frameMs.end())},
  };
  out << report.dump() << "\n";
  out.flush();
  return static_cast<int>(frameMs.size()) == frames ? 0 : 1;
}

}  // namespace kiosk::app
