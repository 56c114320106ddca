#pragma once
// Fields both sides' documents share, read strictly: card and meter numbers, order ids and
// order states. Each keeps the reader's first problem, with the field's path.

#include <string>

#include "protocol/json_reader.hpp"
#include "protocol/orders.hpp"

namespace kiosk::protocol {

std::string readNumber(JsonReader& reader, const char* key);
std::string readOrderId(JsonReader& reader, const char* key);
OrderState readOrderState(JsonReader& reader, const char* key);

}  // namespace kiosk::protocol
