// libFuzzer: CREDIT records (tokens) one by one and as a READ RECORD "all" answer.
#include <cstdlib>

#include "card/profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kiosk::card;
  using kiosk::Bytes;
  using kiosk::ByteView;
  const ByteView input(data, size);
  if (auto token = decodeTokenRecord(input); token && token->has_value()) {
    if (encodeToken(**token) != Bytes(input.begin(), input.end())) std::abort();
    SymKey key{};
    (void)verifyToken(**token, key);
  }
  (void)decodeCreditRecords(input);
  return 0;
}
