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
  bool hasBox = false;               // a button's label: the button...
  float bx = 0, by = 0, bw = 0, bh = 0;  // ...which it must not leave, and no other text enter
  bool hasWithin = false;            // drawn in a panel shared with other texts...
  float wx = 0, wy = 0, ww = 0, wh = 0;  // ...which it must not leave
  int missingGlyphs = 0;             // code points the font atlas lacks
  bool disabled = false;             // the label of a button that cannot be pressed now
};

// Where the kiosk's own screen lies in the window: all of it, or (the simulator) the part
// beside which its panel is docked.
struct ScreenArea {
  float x = 0, y = 0, w = 0, h = 0;
};

class LayoutProbe {
 public:
  void clear() { m_items.clear(); }
  void add(TextItem item) { m_items.push_back(std::move(item)); }
  TextItem& last() { return m_items.back(); }  // the item just added
  const std::vector<TextItem>& items() const { return m_items; }
  void setScreenArea(ScreenArea area) { m_screen = area; }
  // JSON: {"screen": ..., "lang": ..., "width": W, "height": H,
  //        "kiosk": {"x", "y", "w", "h"}, "texts": [...]}.
  std::string toJson(const std::string& screen, const std::string& lang, int width,
                     int height) const;

 private:
  std::vector<TextItem> m_items;
  ScreenArea m_screen;
};

}  // namespace kiosk::ui
