#pragma once
// The kiosk's fonts: Noto Sans CJK SC from Debian's fonts-noto-cjk, with an atlas built only
// from the glyphs that the UI strings use (the full CJK range would cost tens of megabytes).

#include <set>
#include <string>
#include <vector>

struct ImFont;

namespace kiosk::platform {

struct FontOptions {
  std::string path = KIOSK_DEFAULT_CJK_FONT;
  int collectionIndex = 2;  // NotoSansCJK-Regular.ttc: 0 JP, 1 KR, 2 SC, 3 TC, 4 HK
  float basePixels = 36.F;  // body text; the other sizes scale from it
};

struct Fonts {
  ImFont* small = nullptr;   // 0.7x: footers, hints
  ImFont* body = nullptr;    // 1.0x
  ImFont* large = nullptr;   // 1.6x: buttons, amounts
  ImFont* title = nullptr;   // 2.2x: screen titles
  int glyphCount = 0;        // distinct code points put into the atlas
};

// Builds the atlas in the current ImGui context from the code points of `texts` plus printable
// ASCII. Throws std::runtime_error when the font file cannot be loaded (a startup error).
Fonts loadFonts(const FontOptions& options, const std::vector<std::string>& texts);

// Code points of `text` (UTF-8) that `font` has no glyph for: should always be empty.
std::vector<unsigned> missingGlyphs(const ImFont* font, const std::string& text);

// The atlas of a running kiosk. It starts from the UI strings and grows when data brings new
// characters (a resident's name, an address): draw code reports text through require(), and
// between frames rebuildIfNeeded() rebuilds the atlas with the new code points. The caller then
// re-uploads the texture (Window::reloadFontTexture) and draws the frame again.
class FontAtlas {
 public:
  FontAtlas(FontOptions options, const std::vector<std::string>& texts);
  const Fonts& fonts() const { return m_fonts; }
  void require(const std::string& text);
  bool rebuildIfNeeded();

 private:
  FontOptions m_options;
  std::set<unsigned> m_codepoints;  // everything ever requested, found in the font or not
  bool m_dirty = false;
  Fonts m_fonts;
};

}  // namespace kiosk::platform
