#include "cloud/seed.hpp"

#include "cloud/operator_requests.hpp"

namespace kiosk::cloud {
namespace {

using nlohmann::json;

// Read and checked as the operator API reads the same request, then stored.
template <class Request>
CloudResult<bool> create(Store& store, CloudResult<Request> (*read)(const json&),
                         CloudResult<bool> (Store::*write)(const Request&, std::int64_t),
                         const json& body, std::int64_t now) {
  KIOSK_TRY(request, read(body));
  return (store.*write)(*request, now);
}

}  // namespace

CloudResult<json> seedDemo(Store& store, const std::string& kioskSecret, std::int64_t now) {
  auto ignoreExisting = [](const CloudResult<bool>& result) -> CloudResult<bool> {
    if (result || result.error().error == CloudError::Conflict) return true;
    return Unexpected<Failure>{result.error()};
  };
  const json steps[][2] = {
      {json("tariff"), {{"id", "res-single"}, {"name", "Residential flat rate"},
                        {"utility", "electricity"}, {"spec", {{"kind", "single"}, {"rate", 56}}}}},
      {json("tariff"),
       {{"id", "res-tiered"}, {"name", "Residential tiered"}, {"utility", "electricity"},
        {"spec", {{"kind", "tiered"},
                  {"tiers", json::array({{{"up_to", 200}, {"rate", 56}},
                                         {{"up_to", 400}, {"rate", 61}},
                                         {{"rate", 86}}})}}}}},
      {json("tariff"),
       {{"id", "res-tou"}, {"name", "Residential time of use"}, {"utility", "electricity"},
        {"spec", {{"kind", "time_of_use"},
                  {"bands", json::array({{{"name", "valley"}, {"from", 22}, {"to", 8}, {"rate", 36}},
                                         {{"name", "flat"}, {"from", 8}, {"to", 18}, {"rate", 59}},
                                         {{"name", "peak"}, {"from", 18}, {"to", 22}, {"rate", 89}}})}}}}},
      {json("tariff"), {{"id", "water-single"}, {"name", "Water"}, {"utility", "water"},
                        {"spec", {{"kind", "single"}, {"rate", 410}}}}},
      {json("account"), {{"id", "ACC-1001"}, {"resident", "Zhang Wei"}, {"building", "A"},
                         {"room", "1201"}, {"household", "HH-A-1201"}}},
      {json("account"), {{"id", "ACC-1002"}, {"resident", "Li Na"}, {"building", "A"},
                         {"room", "1202"}, {"household", "HH-A-1202"}, {"fee_policy", "PERCENT"},
                         {"fee_share_pct", 30}}},
      {json("account"), {{"id", "ACC-2001"}, {"resident", "Wang Fang"}, {"building", "B"},
                         {"room", "0301"}, {"household", "HH-B-0301"}, {"fee_policy", "CREDIT_ONLY"}}},
      {json("meter"), {{"number", "41000001"}, {"account_id", "ACC-1001"},
                       {"utility", "electricity"}, {"tariff_id", "res-tiered"}}},
      {json("meter"), {{"number", "41000002"}, {"account_id", "ACC-1002"},
                       {"utility", "electricity"}, {"tariff_id", "res-tou"}}},
      {json("meter"), {{"number", "52000001"}, {"account_id", "ACC-2001"}, {"utility", "water"},
                       {"tariff_id", "water-single"}}},
      {json("card"), {{"number", "8800000001"}, {"kind", "resident"}, {"account_id", "ACC-1001"},
                      {"meter_number", "41000001"}}},
      {json("card"), {{"number", "8800000002"}, {"kind", "resident"}, {"account_id", "ACC-1002"},
                      {"meter_number", "41000002"}}},
      {json("card"), {{"number", "8800000003"}, {"kind", "resident"}, {"account_id", "ACC-2001"},
                      {"meter_number", "52000001"}}},
      {json("card"), {{"number", "8800009001"}, {"kind", "staff"}}},
      {json("fee"), {{"id", "fee-demo-1"}, {"account_id", "ACC-1001"}, {"item", "property"},
                     {"description", "Property management, this month"}, {"amount", 3500}}},
      {json("fee"), {{"id", "fee-demo-2"}, {"account_id", "ACC-1002"}, {"item", "water"},
                     {"description", "Shared water"}, {"amount", 1200}}},
      {json("kiosk"), {{"id", "kiosk-demo"}, {"secret", kioskSecret}, {"location", "Building A lobby"},
                       {"building", "A"}}},
      {json("staff"), {{"id", "staff-1"}, {"name", "Chen Jie"}, {"pin", "246810"},
                       {"card_number", "8800009001"}}},
  };
  for (const auto& step : steps) {
    const std::string kind = step[0].get<std::string>();
    const json& body = step[1];
    CloudResult<bool> result = true;
    if (kind == "tariff") result = create(store, &readNewTariff, &Store::createTariff, body, now);
    else if (kind == "account") result = create(store, &readNewAccount, &Store::createAccount, body, now);
    else if (kind == "meter") result = create(store, &readNewMeter, &Store::createMeter, body, now);
    else if (kind == "card") result = create(store, &readNewCard, &Store::createCard, body, now);
    else if (kind == "fee") result = create(store, &readNewFee, &Store::createFee, body, now);
    else if (kind == "kiosk") result = create(store, &readNewKiosk, &Store::createKiosk, body, now);
    else if (kind == "staff") result = create(store, &readNewStaff, &Store::createStaff, body, now);
    auto ok = ignoreExisting(result);
    if (!ok) return Unexpected<Failure>{ok.error()};
  }
  // The kiosk may have been seeded before with another secret: report the one in force.
  auto kiosk = store.kioskAuth("kiosk-demo");
  if (!kiosk) return Unexpected<Failure>{kiosk.error()};
  return json{{"kiosk_id", "kiosk-demo"},
              {"kiosk_secret", kiosk->secret},
              {"cards", json::array({"8800000001", "8800000002", "8800000003", "8800009001"})},
              {"staff", {{"id", "staff-1"}, {"pin", "246810"}}}};
}

}  // namespace kiosk::cloud
