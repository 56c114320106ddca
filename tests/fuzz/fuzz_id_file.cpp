// libFuzzer: ID file decoder and issuer signature check. Odd first byte: the rest is the file
// as is; even: the rest edits a valid ID file (position, XOR value pairs), which reaches the
// checks behind the TLV structure far more often than random bytes do.
#include <cstdlib>

#include "card/issuance.hpp"
#include "card/profile.hpp"

namespace {

struct Fixture {
  kiosk::card::EcKey issuer;
  kiosk::Bytes validId;
};

Fixture makeFixture() {
  using namespace kiosk;
  using namespace kiosk::card;
  Fixture fixture{EcKey::generate().value(), {}};
  IssueRequest request;
  request.cardNumber = 8600000000000001ULL;
  request.meterNumber = 410000123456ULL;
  request.accountNumber = "ACC-FUZZ";
  request.params.pricePerUnit = 60;
  fixture.validId = issueCard(request, fixture.issuer, SymKey{}).value().id;
  return fixture;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kiosk;
  using namespace kiosk::card;
  static const Fixture fixture = makeFixture();
  if (size == 0) return 0;
  Bytes file;
  if ((data[0] & 1U) != 0) {
    file.assign(data + 1, data + size);
  } else {
    file = fixture.validId;
    for (std::size_t i = 1; i + 1 < size; i += 2) {
      file[data[i] % file.size()] ^= data[i + 1];
    }
  }
  auto id = decodeIdFile(file);
  if (!id) return 0;
  auto again = encodeIdFile(*id);
  if (!again || *again != file) std::abort();
  const bool genuine = verifyIdFile(*id, fixture.issuer);
  // Only the issued file itself carries a valid signature.
  if (genuine && file != fixture.validId) std::abort();
  (void)EcKey::fromPublicPoint(id->cardPublicKey);
  return 0;
}
