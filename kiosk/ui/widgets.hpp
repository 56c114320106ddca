#pragma once
// Drawing helpers shared by the screens: text placed by id (and recorded in the layout probe)
// and large touch buttons. Only kiosk/ui includes imgui.h.

#include "kiosk/i18n.hpp"
#include "kiosk/ui/layout_probe.hpp"
#include "platform/gfx/fonts.hpp"

#include <fmt/format.h>
#include <imgui.h>

#include <string>
#include <utility>
#include <vector>

namespace kiosk::ui {

struct Theme {
  ImU32 backgroundTop = IM_COL32(11, 37, 69, 255);
  ImU32 backgroundBottom = IM_COL32(19, 49, 92, 255);
  ImU32 text = IM_COL32(255, 255, 255, 255);
  ImU32 textDim = IM_COL32(176, 196, 222, 255);
  ImU32 accent = IM_COL32(255, 196, 61, 255);
  ImU32 button = IM_COL32(38, 84, 124, 255);
  ImU32 buttonActive = IM_COL32(64, 121, 170, 255);
  ImU32 badge = IM_COL32(214, 96, 77, 255);
  ImU32 panel = IM_COL32(255, 255, 255, 18);
  ImU32 good = IM_COL32(92, 200, 128, 255);
  ImU32 warn = IM_COL32(255, 166, 77, 255);
  ImU32 bad = IM_COL32(235, 87, 87, 255);
  ImU32 primary = IM_COL32(26, 152, 98, 255);
  ImU32 primaryActive = IM_COL32(36, 184, 120, 255);
};

struct Rect {
  float x = 0, y = 0, w = 0, h = 0;
  float right() const { return x + w; }
  float bottom() const { return y + h; }
};

struct Ui {
  const app::Strings& strings;
  app::Lang lang;
  const platform::Fonts& fonts;
  LayoutProbe& probe;
  Theme theme;
  ImVec2 size;  // window size in pixels
  platform::FontAtlas* atlas = nullptr;  // grows with characters the data brings

  const std::string& tr(const char* key) const { return strings.get(key, lang); }
  const std::string& tr(const std::string& key) const { return strings.get(key, lang); }
  // A translated text with "{}" placeholders filled in.
  template <class... Args>
  std::string trf(const char* key, Args&&... args) const {
    return fmt::format(fmt::runtime(tr(key)), std::forward<Args>(args)...);
  }
  // The same with the values in a list (a view model's key and arguments).
  std::string trv(const std::string& key, const std::vector<std::string>& args) const;
  float unit() const;  // 1% of the shorter side: the grid that layouts are built on
};

enum class Align { Left, Center, Right };

// Draws `text` with its top edge at `y`, aligned within [x, x + width]; wraps to `width` when
// it does not fit on one line. Returns the height used. `box`, when given, is the button the
// text labels (no other text may enter it); `within`, the panel it shares with other texts.
// The text must stay inside either; the layout probe records them for the tests.
float drawText(Ui& ui, const char* id, ImFont* font, const std::string& text, float x, float y,
               float width, ImU32 color, Align align = Align::Center,
               const Rect* box = nullptr, const Rect* within = nullptr);

// A large rounded touch button; true when tapped. `id` is the stable ImGui id ("##lang"). A
// button that is not `enabled` is drawn as an outline with a dimmed label and never reports a
// tap; the screen says why in words beside it.
bool touchButton(Ui& ui, const char* id, ImFont* font, const std::string& label, ImVec2 pos,
                 ImVec2 size, bool primary = false, bool enabled = true);

// The frame every resident screen shares: title at the top, the language switch on the right,
// an optional back or cancel button on the left. Returns the body's rectangle below it.
struct HeaderResult {
  Rect body;
  bool switchLanguage = false;
  bool leftButton = false;
};
HeaderResult drawHeader(Ui& ui, const char* titleKey, const char* leftButtonKey = nullptr);

// A translucent rounded panel behind a group of items whose height is known only after they
// are drawn: open it, draw the items, close it with the bottom edge.
class Panel {
 public:
  Panel(Ui& ui, float x, float y, float w);
  ~Panel();
  Panel(const Panel&) = delete;
  Panel& operator=(const Panel&) = delete;
  void close(float bottom);  // draws the background from the top to `bottom`
  float height() const { return m_bottom - m_y; }

 private:
  Ui& m_ui;
  float m_x, m_y, m_w;
  float m_bottom;
  bool m_closed = false;
};
void drawPanel(Ui& ui, const Rect& rect);

// The bottom strip for action buttons; `count` buttons of equal width in a row.
Rect footerButtonRect(Ui& ui, int index, int count);

// A 4x3 keypad (digits, Clear, 0, Delete) filling `area`; returns Digit, Clear or Backspace
// when a key was tapped. Ids are "##PREFIX.key1" ... "##PREFIX.keyC" / ".keyB".
struct KeypadPress {
  bool pressed = false;
  enum class Key { Digit, Clear, Backspace } key = Key::Digit;
  int digit = 0;
};
KeypadPress drawKeypad(Ui& ui, const char* idPrefix, const Rect& area, float maxKeyHeight);

// A QR code for `text` on a white square with a quiet zone, centred in `area`.
void drawQr(Ui& ui, const std::string& text, const Rect& area);

// Horizontal progress bar, `fraction` in 0..1.
void drawProgress(Ui& ui, const Rect& rect, float fraction);

// Full-window background with a vertical gradient.
void drawBackground(Ui& ui);

}  // namespace kiosk::ui
