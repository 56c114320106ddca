#pragma once
// CardFormat on the open card profile (card/profile.hpp, card/write_script.hpp): the vending
// key mints tokens and checks RETURN MACs, the SM master key MACs write scripts. Also card
// issuance into card files for the virtual card.

#include "cloud/card_format.hpp"
#include "cloud/config.hpp"
#include "cloud/store.hpp"

#include "card/crypto.hpp"

#include <memory>

namespace kiosk::cloud {

class ProfileFormat final : public CardFormat {
 public:
  ProfileFormat(const card::SymKey& vendingKey, const card::SymKey& smMaster)
      : m_vending(vendingKey), m_smMaster(smMaster) {}
  // Loads both keys; throws std::runtime_error when a file is missing, malformed, or readable
  // by anyone but this user.
  static std::unique_ptr<ProfileFormat> load(const std::string& vendingKeyFile,
                                             const std::string& smMasterKeyFile);

  CloudResult<std::string> mintToken(const TokenFields& fields) override;
  CloudResult<nlohmann::json> creditWriteScript(const std::string& cardNumber,
                                                const std::string& tokenHex,
                                                const std::string& challengeHex) override;
  CloudResult<MeterReturn> verifyReturn(const std::string& returnHex,
                                        std::int64_t keyVersion) override;
  std::string newDeliveryNonce() override;
  CloudResult<void> verifyDelivery(const DeliveryClaim& claim) override;

 private:
  card::SymKey m_vending;
  card::SymKey m_smMaster;
};

// Issues the card `cardNumber` as it is in the store (kind, meter, account, tariff) with a
// fresh key pair, signed by the issuer key, and writes the card files into `outDir`. Records
// the card's public key in the store. Returns the files written.
CloudResult<nlohmann::json> issueCardFiles(Store& store, const ServerConfig& config,
                                           const std::string& cardNumber, const std::string& outDir);

}  // namespace kiosk::cloud
