// libFuzzer: card file JSON and write script JSON (both arrive from files or the network).
#include <cstdlib>
#include <string_view>

#include "card/virtual_card.hpp"
#include "card/write_script.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kiosk;
  using namespace kiosk::card;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto image = cardImageFromJson(text)) {
    auto again = cardImageFromJson(cardImageToJson(*image));
    if (!again || !(*again == *image)) std::abort();
  }
  if (auto script = writeScriptFromJson(text)) {
    auto again = writeScriptFromJson(writeScriptToJson(*script));
    if (!again || !(*again == *script)) std::abort();
  }
  return 0;
}
