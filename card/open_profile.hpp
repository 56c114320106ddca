#pragma once
// The open card profile (docs/card-profile.md) behind the CardProfile seam: facts from the
// five-APDU authenticated read, writes by the cloud's secure-messaging scripts, tokens found
// in the CREDIT records.

#include <memory>
#include <string>
#include <string_view>

#include "card/card_profile.hpp"
#include "card/crypto.hpp"
#include "card/id_verifier.hpp"

namespace kiosk::card {

class OpenProfile final : public CardProfile {
 public:
  // `issuerPublic` verifies the cards' ID files offline; the profile remembers the ID files it
  // verified across its sessions (IdVerifier).
  explicit OpenProfile(const EcKey& issuerPublic);

  std::string_view name() const override { return "open"; }
  std::unique_ptr<ProfileSession> open(CardChannel& channel) override;
  // The credit write script of a token for the card's meter and utility
  // (checkCreditWriteScript), nothing else.
  Result<void, std::string> checkScript(const WriteScript& script,
                                        const CardFacts& card) const override;

 private:
  IdVerifier m_ids;
};

}  // namespace kiosk::card
