// libFuzzer: the virtual card's command handling on arbitrary APDU streams (the bytes a
// reader, or vpcd, could send it). Every answer must end in a status word.
#include <cstdlib>

#include "card/issuance.hpp"
#include "card/virtual_card.hpp"

namespace {

kiosk::card::CardImage makeImage() {
  using namespace kiosk;
  using namespace kiosk::card;
  IssueRequest request;
  request.cardNumber = 1;
  request.meterNumber = 2;
  request.accountNumber = "FUZZ";
  request.params.pricePerUnit = 1;
  auto issuer = EcKey::generate();
  auto image = issueCard(request, *issuer, SymKey{});
  return std::move(image).value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kiosk;
  using namespace kiosk::card;
  static const CardImage image = makeImage();
  VirtualCard card(image);
  card.powerOn();
  // Input: a sequence of [length byte][command]; a select first so that deeper paths run.
  (void)card.process(Bytes{0x00, 0xA4, 0x04, 0x0C, 0x08, 0xF0, 0x4B, 0x49, 0x4F, 0x53, 0x4B,
                           0x01, 0x01});
  std::size_t pos = 0;
  while (pos < size) {
    const std::size_t length = data[pos++];
    const std::size_t take = length < size - pos ? length : size - pos;
    const Bytes response = card.process(ByteView(data + pos, take));
    if (response.size() < 2) std::abort();
    pos += take;
  }
  return 0;
}
