#pragma once
// A request's JSON body and its fields, read with the API's failures (MalformedJson,
// BadRequest): what every route that takes a body uses.

#include "cloud/error.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace kiosk::cloud {

// The body as a JSON object, refused when it nests deeper than any request of the API.
CloudResult<nlohmann::json> parseBody(std::string_view body);

// A non-empty string.
CloudResult<std::string> stringField(const nlohmann::json& body, const char* key);
CloudResult<std::int64_t> integerField(const nlohmann::json& body, const char* key);
// The string at `key`, or `fallback` when there is none (or it is not a string).
std::string optStringField(const nlohmann::json& body, const char* key, std::string fallback = "");

}  // namespace kiosk::cloud
