// libFuzzer: command and response APDU parsers; a parsed command re-encodes to the same bytes.
#include <cstdlib>

#include "card/apdu.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kiosk;
  using namespace kiosk::card;
  const ByteView input(data, size);
  if (auto apdu = parseApdu(input)) {
    auto again = encodeApdu(*apdu);
    if (!again || *again != Bytes(input.begin(), input.end())) std::abort();
  }
  if (auto response = parseResponse(input)) {
    (void)statusWordName(response->sw);
    if (encodeResponse(response->data, response->sw) != Bytes(input.begin(), input.end())) {
      std::abort();
    }
  }
  return 0;
}
