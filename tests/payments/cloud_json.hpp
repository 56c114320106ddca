#pragma once
// Answers in the exact form kiosk-cloud sends them, built with the cloud's own serializers
// (cloud::orderToJson, cloud::ProfileFormat), for the payments unit tests.

#include <nlohmann/json.hpp>

#include <string>

#include "../card/fixtures.hpp"
#include "card/write_script.hpp"
#include "cloud/api_json.hpp"
#include "cloud/profile_format.hpp"

namespace kiosk::payments::test {

using nlohmann::json;

inline constexpr const char* kCard = "8600000000000001";   // card::test::kCardNumber
inline constexpr const char* kMeter = "410000123456";      // card::test::kMeterNumber

inline cloud::Order sampleOrder(const std::string& id = "ord_0123456789abcdef01234567",
                                const std::string& state = "CREATED", std::int64_t amount = 5000,
                                std::int64_t fees = 0) {
  cloud::Order o;
  o.id = id;
  o.kioskId = "kiosk-demo";
  o.cardNumber = kCard;
  o.accountId = "ACC-1";
  o.meterNumber = kMeter;
  o.origin = "KIOSK";
  o.amount = amount;
  o.feeAmount = fees;
  o.creditAmount = amount - fees;
  o.state = state;
  o.provider = "sim";
  o.createdAt = 1767225600;
  o.expiresAt = 1767225900;
  o.updatedAt = 1767225600;
  return o;
}

inline json orderJson(const cloud::Order& order, bool withQr = true) {
  json out = cloud::orderToJson(order);
  if (withQr && order.state == "CREATED") out["qr_url"] = "http://127.0.0.1:8080/pay/" + order.id;
  return out;
}

// The delivery nonce the test cloud issues with every token.
inline constexpr const char* kDeliveryNonce = "00112233445566778899AABBCCDDEEFF";

// The /script answer for `cardNumber` (its SM key) with a token of `sequence` and `amount`
// for `meter`, exactly as the server builds it.
inline json scriptJson(const std::string& orderId, std::uint32_t sequence, std::uint32_t amount,
                       const std::string& challengeHex, std::uint64_t meter = card::test::kMeterNumber,
                       const std::string& cardNumber = kCard) {
  cloud::ProfileFormat format(card::test::kVendingKey, card::test::kSmMaster);
  const auto tokenHex =
      format.mintToken({std::to_string(meter), "electricity", sequence, amount, 1767225600, 1});
  const auto script = format.creditWriteScript(cardNumber, tokenHex.value(), challengeHex);
  return json{{"order_id", orderId},
              {"state", "TOKEN_ISSUED"},
              {"token",
               {{"meter_number", std::to_string(meter)},
                {"sequence", sequence},
                {"amount", amount},
                {"key_version", 1},
                {"issued_at", 1767225600},
                {"hex", tokenHex.value()}}},
              {"delivery_nonce", kDeliveryNonce},
              {"script", script.value()}};
}

inline json cardSummaryJson(const std::string& cardNumber = kCard) {
  return json{
      {"card", {{"number", cardNumber}, {"kind", "resident"}, {"status", "ACTIVE"}}},
      {"account",
       {{"id", "ACC-1"}, {"resident", "Z**"}, {"building", "A"}, {"room", "1201"},
        {"household", "HH-A-1201"}, {"fee_policy", "FEES_FIRST"}}},
      {"meter",
       {{"number", kMeter}, {"utility", "electricity"}, {"tariff_id", "res-single"},
        {"key_version", 1},
        {"last_reading",
         {{"at", 1767225000}, {"remaining", 1234}, {"consumption", 99000}, {"flags", 0},
          {"last_sequence", 3}}}}},
      {"fees", json::array({{{"id", "fee-1"}, {"item", "property"}, {"description", "Property"},
                             {"owed", 3500}}})},
      {"fees_total", 3500},
      {"pending", json::array({{{"order_id", "ord_pending1"}, {"credit", 2000}, {"state", "PAID"}}})},
      {"recent", json::array({{{"order_id", "ord_recent1"}, {"amount", 5000}, {"credit", 5000},
                               {"state", "DELIVERED"}, {"at", 1767220000}}})}};
}

inline json configJson() {
  return json{
      {"kiosk", {{"id", "kiosk-demo"}, {"location", "Building A lobby"}, {"building", "A"}}},
      {"limits", {{"min_amount", 100}, {"max_amount", 50000}}},
      {"tariffs",
       json::array({{{"id", "res-single"}, {"name", "Flat"}, {"utility", "electricity"},
                     {"spec", {{"kind", "single"}, {"rate", 56}}}},
                    {{"id", "res-tiered"}, {"name", "Tiered"}, {"utility", "electricity"},
                     {"spec", {{"kind", "tiered"},
                               {"tiers", json::array({{{"up_to", 200}, {"rate", 56}}, {{"rate", 86}}})}}}},
                    {{"id", "res-tou"}, {"name", "TOU"}, {"utility", "electricity"},
                     {"spec", {{"kind", "time_of_use"},
                               {"bands", json::array({{{"name", "valley"}, {"from", 22}, {"to", 8}, {"rate", 36}},
                                                      {{"name", "flat"}, {"from", 8}, {"to", 18}, {"rate", 59}}})}}}}})},
      {"blocked_cards", json::array({{{"number", "8800000009"}, {"status", "BLOCKED"}}})},
      {"staff", json::array({{{"id", "staff-1"}, {"name", "Chen"},
                              {"pin", {{"algorithm", "PBKDF2-HMAC-SHA256"}, {"salt", "ab"},
                                       {"hash", "cd"}, {"iterations", 100000}}},
                              {"card_number", nullptr}}})}};
}

}  // namespace kiosk::payments::test
