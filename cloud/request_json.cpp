#include "cloud/request_json.hpp"

#include "protocol/text.hpp"

namespace kiosk::cloud {
namespace {

using nlohmann::json;

// Deeper than any request of the API: nlohmann's dump() recurses, and a body nested a hundred
// thousand levels deep would take the process's stack with it.
constexpr int kMaxJsonDepth = 32;

}  // namespace

CloudResult<json> parseBody(std::string_view text) {
  bool tooDeep = false;
  // Every string of a request, names and values, follows the one rule (protocol/text.hpp):
  // a NUL would be cut by PostgreSQL, a control character or an override would mislead
  // whoever reads it back.
  std::string notText;
  auto body = json::parse(
      text,
      [&](int depth, json::parse_event_t event, json& parsed) {
        if (depth > kMaxJsonDepth) tooDeep = true;
        if ((event == json::parse_event_t::key || event == json::parse_event_t::value) &&
            parsed.is_string() && notText.empty() && !protocol::isText(parsed.get_ref<const std::string&>())) {
          notText = protocol::forLog(parsed.get_ref<const std::string&>(), 64);
        }
        return !tooDeep && notText.empty();
      },
      false);
  if (tooDeep) return failWith(CloudError::MalformedJson, "body is nested too deeply");
  if (!notText.empty()) {
    return failWith(CloudError::BadRequest,
                    "a string holds a control character or a text direction mark (\"" + notText + "\")");
  }
  if (body.is_discarded()) return failWith(CloudError::MalformedJson, "body is not valid JSON");
  if (!body.is_object()) return failWith(CloudError::MalformedJson, "body must be a JSON object");
  return body;
}

CloudResult<std::string> stringField(const json& body, const char* key) {
  if (!body.contains(key) || !body[key].is_string() || body[key].get<std::string>().empty()) {
    return failWith(CloudError::BadRequest, std::string(key) + " must be a non-empty string");
  }
  return body[key].get<std::string>();
}

CloudResult<std::int64_t> integerField(const json& body, const char* key) {
  if (!body.contains(key) || !body[key].is_number_integer()) {
    return failWith(CloudError::BadRequest, std::string(key) + " must be an integer");
  }
  return body[key].get<std::int64_t>();
}

std::string optStringField(const json& body, const char* key, std::string fallback) {
  if (body.contains(key) && body[key].is_string()) return body[key].get<std::string>();
  return fallback;
}

}  // namespace kiosk::cloud
