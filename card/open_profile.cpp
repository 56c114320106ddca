#include "card/open_profile.hpp"

#include <utility>

#include "card/apdu.hpp"
#include "card/card_reader.hpp"

namespace kiosk::card {

namespace {

class OpenSession final : public ProfileSession {
 public:
  OpenSession(CardChannel& channel, IdVerifier& ids) : m_reader(channel, ids) {}

  Result<CardFacts, CardError> readFacts() override { return readWith({}); }

  Result<CardFacts, CardError> readAllFiles() override {
    ReadOptions options;
    options.readParams = true;
    return readWith(options);
  }

  Result<Bytes, CardError> challenge() override {
    // No transaction: the script comes after the cloud's work, and a lock held over that is a
    // lock the kiosk may die holding; for the one APDU itself pcscd's own serialisation is
    // enough. The script's MAC covers the challenge: another application's exchange in
    // between can make the card refuse the script, never take a write it did not authorise.
    return m_reader.getChallenge(CardReader::HoldForScript::No);
  }

  Result<void, CardError> runScript(const WriteScript& script) override {
    return m_reader.runScript(script);
  }

  Result<bool, CardError> findToken(const CreditToken& token) override {
    return m_reader.tokenOnCard(token);
  }

  Result<Bytes, CardError> proveToken(const CreditToken& token, ByteView nonce) override {
    return m_reader.proveRecord(creditRecordFor(token.sequence), nonce);
  }

  std::size_t apdus() const override { return m_reader.apduCount(); }

 private:
  Result<CardFacts, CardError> readWith(const ReadOptions& options) {
    auto snapshot = m_reader.read(options);
    if (!snapshot) return fail(snapshot.error());
    CardFacts facts;
    facts.id = std::move(snapshot->id);
    facts.credits = std::move(snapshot->credits);
    facts.freeRecords = snapshot->freeRecords;
    facts.meterReturn = snapshot->meterReturn;
    facts.params = snapshot->params;
    return facts;
  }

  CardReader m_reader;
};

}  // namespace

OpenProfile::OpenProfile(const EcKey& issuerPublic) : m_ids(issuerPublic) {}

std::unique_ptr<ProfileSession> OpenProfile::open(CardChannel& channel) {
  return std::make_unique<OpenSession>(channel, m_ids);
}

Result<void, std::string> OpenProfile::checkScript(const WriteScript& script,
                                                   const CardFacts& card) const {
  // The token is the first step's record: the shape check below holds it to that step.
  if (script.steps.empty()) return fail(std::string("script must have exactly two steps"));
  auto update = parseApdu(script.steps.front().apdu);
  if (!update || update->data.size() < profile::kTokenSize) {
    return fail(std::string("script's first step is not the secure UPDATE RECORD of a token"));
  }
  auto token = decodeToken(ByteView(update->data).first(profile::kTokenSize));
  if (!token) return fail(std::string("script's first step carries no valid token"));
  if (token->meterNumber != card.id.meterNumber) {
    return fail("token is for meter " + std::to_string(token->meterNumber) +
                ", the card's meter is " + std::to_string(card.id.meterNumber));
  }
  if (token->utility != card.id.utility) return fail(std::string("token is for another utility"));
  return checkCreditWriteScript(script, *token);
}

}  // namespace kiosk::card
