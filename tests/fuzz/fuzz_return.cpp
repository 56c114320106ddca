// libFuzzer: RETURN file decoder.
#include <cstdlib>

#include "card/profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kiosk;
  using namespace kiosk::card;
  const ByteView input(data, size);
  auto record = decodeReturnFile(input);
  if (record && record->has_value()) {
    if (encodeReturn(**record) != Bytes(input.begin(), input.end())) std::abort();
    SymKey key{};
    (void)verifyReturn(**record, key);
  }
  return 0;
}
