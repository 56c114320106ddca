#include "kiosk/i18n.hpp"

#include <gtest/gtest.h>

using kiosk::app::Lang;
using kiosk::app::Strings;

TEST(Strings, LooksUpBothLanguagesByKey) {
  const auto strings = Strings::parse(R"({"pay.title": {"zh-CN": "扫码付款", "en": "Scan to pay"}})");
  EXPECT_EQ(strings.get("pay.title", Lang::ZhCN), "扫码付款");
  EXPECT_EQ(strings.get("pay.title", Lang::En), "Scan to pay");
}

TEST(Strings, MissingKeyShowsTheKeyItself) {
  const auto strings = Strings::parse(R"({"a": {"zh-CN": "甲", "en": "A"}})");
  EXPECT_EQ(strings.get("no.such.key", Lang::En), "no.such.key");
  EXPECT_FALSE(strings.has("no.such.key"));
}

TEST(Strings, RejectsAKeyWithoutEnglish) {
  try {
    Strings::parse(R"({"pay.title": {"zh-CN": "扫码付款"}})", "test.json");
    FAIL() << "accepted a key with no English text";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("pay.title"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("en"), std::string::npos) << e.what();
  }
}

TEST(Strings, RejectsMalformedJsonNamingTheFile) {
  try {
    Strings::parse(R"({"a": )", "broken.json");
    FAIL() << "accepted malformed JSON";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("broken.json"), std::string::npos) << e.what();
  }
}

TEST(Strings, ShippedTableHasBothLanguagesForEveryKey) {
  const auto strings = Strings::loadFile(KIOSK_ASSETS_DIR "/i18n/strings.json");
  EXPECT_GE(strings.size(), 5U);
  for (const auto* key : {"app.title", "attract.insert", "lang.switch"}) {
    EXPECT_TRUE(strings.has(key)) << key;
    EXPECT_NE(strings.get(key, Lang::ZhCN), strings.get(key, Lang::En)) << key;
  }
}

TEST(Lang, ParsesCodesAndToggles) {
  Lang lang = Lang::En;
  EXPECT_TRUE(kiosk::app::parseLang("zh-CN", lang));
  EXPECT_EQ(lang, Lang::ZhCN);
  EXPECT_TRUE(kiosk::app::parseLang("en", lang));
  EXPECT_EQ(lang, Lang::En);
  EXPECT_FALSE(kiosk::app::parseLang("fr", lang));
  EXPECT_EQ(kiosk::app::otherLang(Lang::En), Lang::ZhCN);
}
