#pragma once
// The kiosk configuration: one document the cloud serves (GET /v1/kiosk/config, by ETag) and
// the kiosk keeps. Its schema lives here, so both sides encode and decode the same fields:
// the kiosk's place, the amount limits, the tariffs (with the rate the amount screen shows),
// the blocked cards, the staff who may open maintenance (PIN hashes, staff cards), and where
// receipts are. Money is in minor units.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/result.hpp"

namespace kiosk::protocol {

struct ConfigTariff {
  std::string id;
  std::string name;
  std::string utility;            // electricity, water
  std::string spec;               // the tariff as JSON text (kind, rates, tiers or bands)
  // Read from spec by the decoder:
  std::string kind;               // single, tiered, time_of_use
  std::int64_t pricePerUnit = 0;  // the representative rate: single, first tier, or flat band
};

struct BlockedCard {
  std::string number;
  std::string status;  // BLOCKED, LOST
};

struct StaffMember {
  std::string id;
  std::string name;
  std::string pinAlgorithm = "PBKDF2-HMAC-SHA256";
  std::string pinSalt;
  std::string pinHash;
  std::int64_t pinIterations = 0;
  std::optional<std::string> cardNumber;
};

// Whom residents call, and the zone every time is shown in (per organisation, a kiosk may
// override it). Empty: not configured.
struct ServiceInfo {
  std::string phone;
  std::string hours;     // as the property office states them: "08:00-20:00"
  std::string timeZone;  // IANA, "Asia/Shanghai"
};

struct KioskConfig {
  std::string kioskId;
  std::string location;
  std::string building;
  std::int64_t minAmount = 0;
  std::int64_t maxAmount = 0;
  std::vector<ConfigTariff> tariffs;
  std::vector<BlockedCard> blockedCards;  // the most recent ones, by number
  std::int64_t blockedCardsTotal = 0;
  std::vector<StaffMember> staff;
  std::string receiptBaseUrl;  // + order id: the receipt page (empty: the cloud has none)
  ServiceInfo service;

  bool blocked(std::string_view cardNumber) const;
  const ConfigTariff* tariff(std::string_view id) const;
};

// The document. receipt_base_url is written only when set: the cloud's ETag covers what comes
// from its store, and adds where receipts are afterwards (setReceiptBaseUrl).
nlohmann::json encodeKioskConfig(const KioskConfig& config);
void setReceiptBaseUrl(nlohmann::json& document, const std::string& url);

// Reads and checks the document: every field present with the right type and a sensible
// value, within protocol::limits. The error names the first field that is not.
Result<KioskConfig, std::string> decodeKioskConfig(const nlohmann::json& document);

}  // namespace kiosk::protocol
