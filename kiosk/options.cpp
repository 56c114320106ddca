#include "kiosk/options.hpp"

#include <algorithm>
#include <cmath>
#include <regex>

namespace kiosk::app {

std::optional<std::pair<int, int>> parseSize(const std::string& text) {
  static const std::regex kPattern(R"((\d{3,5})x(\d{3,5}))");
  std::smatch match;
  if (!std::regex_match(text, match, kPattern)) return std::nullopt;
  const int w = std::stoi(match[1].str());
  const int h = std::stoi(match[2].str());
  constexpr int kMin = 320;
  constexpr int kMax = 8192;
  if (w < kMin || h < kMin || w > kMax || h > kMax) return std::nullopt;
  return std::make_pair(w, h);
}

namespace {
constexpr double kPanelShare = 0.4;  // of the kiosk screen's shorter side
}  // namespace

int panelColumnWidth(int width, int height) {
  return static_cast<int>(std::lround(kPanelShare * std::min(width, height)));
}

int screenWidthBesidePanel(int windowWidth, int windowHeight) {
  // The screen S and the column beside it fill the window: S + 0.4 min(S, H) = W.
  const double screen = std::max(windowWidth / (1.0 + kPanelShare),
                                 static_cast<double>(windowWidth) - kPanelShare * windowHeight);
  return windowWidth - panelColumnWidth(static_cast<int>(std::lround(screen)), windowHeight);
}

}  // namespace kiosk::app
