// libFuzzer: BER-TLV parser; what parses re-encodes to the same bytes (shortest forms only).
#include <cstdlib>

#include "card/tlv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kiosk;
  using namespace kiosk::card;
  const ByteView input(data, size);
  auto list = parseTlvList(input);
  if (!list) return 0;
  Bytes again;
  for (const Tlv& tlv : *list) {
    if (!appendTlv(again, tlv.tag, tlv.value)) std::abort();
    if (tlv.constructed()) (void)parseTlvList(tlv.value);
  }
  if (again != Bytes(input.begin(), input.end())) std::abort();
  return 0;
}
