// The font atlas is built from the UI strings; every glyph of every string must be in it, or
// the resident sees '?' boxes. ImGui builds atlases without a window, so this runs headless.
#include "kiosk/i18n.hpp"
#include "platform/gfx/fonts.hpp"

#include <gtest/gtest.h>
#include <imgui.h>

namespace {

class FontAtlas : public ::testing::Test {
 protected:
  void SetUp() override { ImGui::CreateContext(); }
  void TearDown() override { ImGui::DestroyContext(); }
};

}  // namespace

TEST_F(FontAtlas, HoldsEveryGlyphOfEveryUiString) {
  const auto strings = kiosk::app::Strings::loadFile(KIOSK_ASSETS_DIR "/i18n/strings.json");
  const auto texts = strings.allTexts();
  const auto fonts = kiosk::platform::loadFonts({}, texts);
  ASSERT_NE(fonts.title, nullptr);
  EXPECT_GT(fonts.glyphCount, 95 + 20);  // ASCII plus at least the CJK of the attract screen
  for (const auto& text : texts) {
    for (ImFont* font : {fonts.small, fonts.body, fonts.large, fonts.title}) {
      EXPECT_TRUE(kiosk::platform::missingGlyphs(font, text).empty()) << text;
    }
  }
}

TEST_F(FontAtlas, ReportsGlyphsThatWereNotRequested) {
  const auto fonts = kiosk::platform::loadFonts({}, {"充值"});
  const auto missing = kiosk::platform::missingGlyphs(fonts.body, "充值成功");
  ASSERT_EQ(missing.size(), 2U);  // 成 and 功 were not in the requested text
  EXPECT_EQ(missing[0], 0x6210U);
  EXPECT_EQ(missing[1], 0x529FU);
}

TEST_F(FontAtlas, MissingFontFileIsAClearError) {
  kiosk::platform::FontOptions options;
  options.path = "/nonexistent/font.ttc";
  try {
    kiosk::platform::loadFonts(options, {"a"});
    FAIL() << "loaded a font that does not exist";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("fonts-noto-cjk"), std::string::npos) << e.what();
  }
}
