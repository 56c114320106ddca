// libFuzzer: PARAMS file decoder.
#include <cstdlib>

#include "card/profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kiosk;
  using namespace kiosk::card;
  const ByteView input(data, size);
  if (auto params = decodeParams(input)) {
    if (encodeParams(*params) != Bytes(input.begin(), input.end())) std::abort();
  }
  return 0;
}
