#include "kiosk/options.hpp"

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

}  // namespace kiosk::app
