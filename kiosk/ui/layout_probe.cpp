#include "kiosk/ui/layout_probe.hpp"

#include <nlohmann/json.hpp>

namespace kiosk::ui {

std::string LayoutProbe::toJson(const std::string& screen, const std::string& lang, int width,
                                int height) const {
  nlohmann::json texts = nlohmann::json::array();
  for (const auto& item : m_items) {
    nlohmann::json box = nullptr;
    if (item.hasBox) box = {item.bx, item.by, item.bw, item.bh};
    nlohmann::json within = nullptr;
    if (item.hasWithin) within = {item.wx, item.wy, item.ww, item.wh};
    texts.push_back({{"id", item.id},
                     {"box", box},
                     {"within", within},
                     {"text", item.text},
                     {"x", item.x},
                     {"y", item.y},
                     {"w", item.w},
                     {"h", item.h},
                     {"max_width", item.maxWidth},
                     {"missing_glyphs", item.missingGlyphs},
                     {"disabled", item.disabled}});
  }
  const nlohmann::json kiosk = {
      {"x", m_screen.x}, {"y", m_screen.y}, {"w", m_screen.w}, {"h", m_screen.h}};
  const nlohmann::json doc = {{"screen", screen}, {"lang", lang},   {"width", width},
                              {"height", height}, {"kiosk", kiosk}, {"texts", texts}};
  return doc.dump(2);
}

}  // namespace kiosk::ui
