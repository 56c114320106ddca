#include "kiosk/i18n.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kiosk::app {

std::string_view langCode(Lang lang) { return lang == Lang::ZhCN ? "zh-CN" : "en"; }

bool parseLang(std::string_view code, Lang& out) {
  if (code == "zh-CN" || code == "zh" || code == "zh_CN") {
    out = Lang::ZhCN;
    return true;
  }
  if (code == "en" || code == "en-US" || code == "en_US") {
    out = Lang::En;
    return true;
  }
  return false;
}

Lang otherLang(Lang lang) { return lang == Lang::ZhCN ? Lang::En : Lang::ZhCN; }

Strings Strings::loadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open strings file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

Strings Strings::parse(std::string_view json, const std::string& origin) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error(origin + ": malformed JSON: " + e.what());
  }
  if (!doc.is_object()) throw std::runtime_error(origin + ": expected an object of keys");
  Strings strings;
  for (const auto& item : doc.items()) {
    // Named references, not a structured binding: clang before 16 cannot capture bindings.
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    const auto text = [&](const char* lang) {
      if (!value.is_object() || !value.contains(lang) || !value[lang].is_string() ||
          value[lang].get_ref<const std::string&>().empty()) {
        throw std::runtime_error(origin + ": key \"" + key + "\" has no " + lang + " text");
      }
      return value[lang].get<std::string>();
    };
    strings.m_table.emplace(key, Entry{text("zh-CN"), text("en")});
  }
  return strings;
}

const std::string& Strings::get(std::string_view key, Lang lang) const {
  if (const auto it = m_table.find(key); it != m_table.end()) {
    return lang == Lang::ZhCN ? it->second.zh : it->second.en;
  }
  auto [it, inserted] = m_missing.emplace(std::string(key), std::string(key));
  if (inserted) spdlog::warn("missing UI string \"{}\"", key);
  return it->second;
}

bool Strings::has(std::string_view key) const { return m_table.find(key) != m_table.end(); }

std::vector<std::string> Strings::allTexts() const {
  std::vector<std::string> texts;
  texts.reserve(m_table.size() * 2);
  for (const auto& [key, entry] : m_table) {
    texts.push_back(entry.zh);
    texts.push_back(entry.en);
  }
  return texts;
}

}  // namespace kiosk::app
