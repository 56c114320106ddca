#include "card/issuance.hpp"

namespace kiosk::card {

Result<CardImage, CardError> issueCard(const IssueRequest& request, const EcKey& issuerPrivate,
                                       const SymKey& smMaster) {
  auto cardKey = EcKey::generate();
  if (!cardKey) return fail(cardKey.error());
  return issueCard(request, issuerPrivate, smMaster, *cardKey);
}

Result<CardImage, CardError> issueCard(const IssueRequest& request, const EcKey& issuerPrivate,
                                       const SymKey& smMaster, const EcKey& cardKey) {
  if (!issuerPrivate.hasPrivate() || !cardKey.hasPrivate()) return fail(CardError::BadData);
  const Bytes params = encodeParams(request.params);
  auto checked = decodeParams(params);
  if (!checked || checked->utility != request.utility) return fail(CardError::BadData);

  IdFile id;
  id.cardNumber = request.cardNumber;
  id.kind = request.kind;
  id.utility = request.utility;
  id.meterNumber = request.meterNumber;
  id.accountNumber = request.accountNumber;
  id.issuerKeyVersion = request.issuerKeyVersion;
  id.cardPublicKey = cardKey.publicPoint();
  if (auto signedId = signIdFile(id, issuerPrivate); !signedId) return fail(signedId.error());
  auto file = encodeIdFile(id);
  if (!file) return fail(file.error());

  CardImage image;
  image.atr = defaultAtr();
  image.id = std::move(*file);
  for (Bytes& record : image.credit) record.assign(profile::kTokenSize, 0);
  image.meterReturn.assign(profile::kReturnSize, 0);
  image.params = params;
  image.cardPrivateKey = cardKey.privateScalar();
  image.smKey = deriveCardSmKey(smMaster, request.cardNumber);
  return image;
}

}  // namespace kiosk::card
