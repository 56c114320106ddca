#pragma once
// UI strings looked up by key ("pay.title"), zh-CN and English side by side in
// assets/i18n/strings.json.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kiosk::app {

enum class Lang { ZhCN, En };

std::string_view langCode(Lang lang);
// "zh-CN" / "zh" / "en"; anything else is nullopt-like: returns false.
bool parseLang(std::string_view code, Lang& out);
Lang otherLang(Lang lang);

class Strings {
 public:
  // Parses the JSON table; throws std::runtime_error with the file and the key at fault when
  // the file is missing, malformed, or a key lacks one of the two languages.
  static Strings loadFile(const std::string& path);
  static Strings parse(std::string_view json, const std::string& origin = "strings");

  // The text for `key`; a missing key returns the key itself so that it shows up on screen
  // and in screenshot tests instead of an empty label.
  const std::string& get(std::string_view key, Lang lang) const;
  bool has(std::string_view key) const;
  // Every text in both languages: the glyphs the font atlas must hold.
  std::vector<std::string> allTexts() const;
  std::size_t size() const { return m_table.size(); }

 private:
  struct Entry {
    std::string zh;
    std::string en;
  };
  std::map<std::string, Entry, std::less<>> m_table;
  mutable std::map<std::string, std::string, std::less<>> m_missing;
};

}  // namespace kiosk::app
