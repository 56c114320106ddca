#pragma once
// Card issuance (personalisation): a fresh card key pair, the ID file signed by the issuer,
// the card's diversified secure-messaging key, the meter's PARAMS and empty CREDIT and
// RETURN files, as a CardImage ready to save as a card file or serve.

#include <cstdint>
#include <string>

#include "card/crypto.hpp"
#include "card/profile.hpp"
#include "card/card_image.hpp"

namespace kiosk::card {

struct IssueRequest {
  std::uint64_t cardNumber = 0;
  CardKind kind = CardKind::Resident;
  Utility utility = Utility::Electricity;
  std::uint64_t meterNumber = 0;
  std::string accountNumber;
  std::uint8_t issuerKeyVersion = 1;
  Params params;
};

// BadData when a field is out of range (zero numbers, account not 1..32 printable ASCII,
// PARAMS invalid or for another utility).
Result<CardImage, CardError> issueCard(const IssueRequest& request, const EcKey& issuerPrivate,
                                       const SymKey& smMaster);
// The same with a given card key pair (reproducible cards for test vectors).
Result<CardImage, CardError> issueCard(const IssueRequest& request, const EcKey& issuerPrivate,
                                       const SymKey& smMaster, const EcKey& cardKey);

}  // namespace kiosk::card
