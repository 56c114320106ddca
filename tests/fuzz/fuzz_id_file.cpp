// libFuzzer: ID file decoder and issuer signature check on arbitrary files.
#include <cstdlib>

#include "card/profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kiosk::card;
  static const EcKey issuer = [] {
    auto key = EcKey::generate();
    return std::move(key).value();
  }();
  const ByteView input(data, size);
  auto id = decodeIdFile(input);
  if (!id) return 0;
  auto again = encodeIdFile(*id);
  if (!again || *again != Bytes(input.begin(), input.end())) std::abort();
  (void)verifyIdFile(*id, issuer);
  (void)EcKey::fromPublicPoint(id->cardPublicKey);
  return 0;
}
