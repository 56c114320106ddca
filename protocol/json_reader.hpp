#pragma once
// Strict reading of one side's JSON by the other: every field used must be there, with the
// right type and a sensible value. The first problem is kept, with the field's path
// ("tariffs[2].spec.rate is out of range (0)"), and every later read returns a default, so a
// decoder reads straight through and checks once at the end.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

namespace kiosk::protocol {

// Reads fields of one JSON object; the first problem is kept (with the field's path) and
// every later read returns a default, so a decoder reads straight through and checks once.
class JsonReader {
 public:
  using json = nlohmann::json;
  JsonReader(const json& node, std::string path, std::shared_ptr<std::string> problem)
      : m_node(node), m_path(std::move(path)), m_problem(std::move(problem)) {
    if (!m_node.is_object()) report(m_path.empty() ? "answer is not a JSON object" : "is not an object");
  }
  static JsonReader root(const json& node) { return JsonReader(node, "", std::make_shared<std::string>()); }

  bool ok() const { return m_problem->empty(); }
  const std::string& problem() const { return *m_problem; }

  void check(bool condition, const std::string& what) {
    if (!condition) report(what);
  }
  void checkField(bool condition, const char* key, const std::string& what) {
    if (!condition) reportField(key, what);
  }

  const json* find(const char* key) {
    if (!ok() || !m_node.is_object()) return nullptr;
    const auto it = m_node.find(key);
    return it == m_node.end() ? nullptr : &*it;
  }

  std::string string(const char* key, std::size_t maxLength = 256, bool allowEmpty = false) {
    const json* value = find(key);
    if (value == nullptr) return missing(key), std::string{};
    if (!value->is_string()) return reportField(key, "expected a string"), std::string{};
    auto text = value->get<std::string>();
    if (text.empty() && !allowEmpty) return reportField(key, "must not be empty"), std::string{};
    if (text.size() > maxLength) return reportField(key, "is too long"), std::string{};
    return text;
  }
  std::string optString(const char* key, std::size_t maxLength = 256) {
    const json* value = find(key);
    if (value == nullptr || value->is_null()) return {};
    return string(key, maxLength, true);
  }
  std::int64_t integer(const char* key, std::int64_t min, std::int64_t max) {
    const json* value = find(key);
    if (value == nullptr) return missing(key), 0;
    return integerValue(*value, key, min, max);
  }
  std::optional<std::int64_t> optInteger(const char* key, std::int64_t min, std::int64_t max) {
    const json* value = find(key);
    if (value == nullptr || value->is_null()) return std::nullopt;
    return integerValue(*value, key, min, max);
  }
  bool boolean(const char* key) {
    const json* value = find(key);
    if (value == nullptr) return missing(key), false;
    if (!value->is_boolean()) return reportField(key, "expected true or false"), false;
    return value->get<bool>();
  }
  JsonReader object(const char* key) {
    const json* value = find(key);
    if (value == nullptr) {
      missing(key);
      return JsonReader(s_empty, sub(key), m_problem);
    }
    return JsonReader(*value, sub(key), m_problem);
  }
  // An array of objects; calls `each(reader)` for every element.
  template <class Each>
  void array(const char* key, std::size_t maxItems, Each each, bool required = true) {
    const json* value = find(key);
    if (value == nullptr) {
      if (required) missing(key);
      return;
    }
    if (!value->is_array()) return reportField(key, "expected an array");
    if (value->size() > maxItems) return reportField(key, "has too many items");
    for (std::size_t i = 0; i < value->size() && ok(); ++i) {
      JsonReader item((*value)[i], sub(key) + "[" + std::to_string(i) + "]", m_problem);
      if (item.ok()) each(item);
    }
  }

 private:
  std::int64_t integerValue(const json& value, const char* key, std::int64_t min, std::int64_t max) {
    // Money and times are integers; 12.5 or "1250" is a broken answer, not something to round.
    if (!value.is_number_integer()) return reportField(key, "expected an integer"), 0;
    if (value.is_number_unsigned() &&
        value.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return reportField(key, "is out of range"), 0;
    }
    const auto number = value.get<std::int64_t>();
    if (number < min || number > max) {
      return reportField(key, "is out of range (" + std::to_string(number) + ")"), 0;
    }
    return number;
  }
  std::string sub(const char* key) const { return m_path.empty() ? key : m_path + "." + key; }
  void missing(const char* key) { reportField(key, "is missing"); }
  void reportField(const char* key, const std::string& what) { report(sub(key) + " " + what); }
  void report(const std::string& what) {
    if (!m_problem->empty()) return;
    *m_problem = m_path.empty() || what.starts_with(m_path) ? what : m_path + " " + what;
  }

  static inline const json s_empty = json::object();
  const json& m_node;
  std::string m_path;
  std::shared_ptr<std::string> m_problem;
};

}  // namespace kiosk::protocol
