#pragma once
// Records where each piece of text was drawn in a frame and how much room it had, so that
// screenshot tests can check that nothing is clipped or overlapping and can look at the
// pixels of a given label. Written next to a screenshot as FILE.layout.json.

#include <string>
#include <vector>

namespace kiosk::ui {

struct TextItem {
  std::string id;     // stable id, independent of language ("attract.title")
  std::string text;   // what was drawn
  float x = 0, y = 0, w = 0, h = 0;  // the text's bounding box in window pixels
  float maxWidth = 0;                // the width it was given
  bool hasBox = false;               // drawn inside a container (button, panel)...
  float bx = 0, by = 0, bw = 0, bh = 0;  // ...which it must not leave
  int missingGlyphs = 0;             // code points the font atlas lacks
  bool disabled = false;             // the label of a button that cannot be pressed now
};

class LayoutProbe {
 public:
  void clear() { m_items.clear(); }
  void add(TextItem item) { m_items.push_back(std::move(item)); }
  TextItem& last() { return m_items.back(); }  // the item just added
  const std::vector<TextItem>& items() const { return m_items; }
  // JSON: {"screen": ..., "lang": ..., "width": W, "height": H, "texts": [...]}.
  std::string toJson(const std::string& screen, const std::string& lang, int width,
                     int height) const;

 private:
  std::vector<TextItem> m_items;
};

}  // namespace kiosk::ui
