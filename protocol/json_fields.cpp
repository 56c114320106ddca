#include "protocol/json_fields.hpp"

#include "protocol/limits.hpp"
#include "protocol/text.hpp"

namespace kiosk::protocol {

using namespace limits;

std::string readNumber(JsonReader& reader, const char* key) {
  std::string number = reader.string(key, kMaxNumberLength);
  reader.checkField(!reader.ok() || isNumber(number), key, "is not a card or meter number");
  return number;
}

std::string readOrderId(JsonReader& reader, const char* key) {
  std::string id = reader.string(key, kMaxIdLength);
  reader.checkField(!reader.ok() || isOrderId(id), key, "is not an order id");
  return id;
}

OrderState readOrderState(JsonReader& reader, const char* key) {
  const std::string text = reader.string(key, kMaxKindLength);
  if (!reader.ok()) return OrderState::Created;
  const auto state = orderStateFromString(text);
  reader.checkField(state.has_value(), key, "is not a known order state (" + text + ")");
  return state.value_or(OrderState::Created);
}

}  // namespace kiosk::protocol
