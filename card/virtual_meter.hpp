#pragma once
// A virtual prepaid meter: loads each valid credit token from a card once (MAC with the
// per-meter key, meter number, utility and a strictly increasing sequence checked), consumes
// over simulated time at the tariff in PARAMS, raises three alarm levels, cuts supply at zero
// credit (plus the overdraft limit), restores it on new credit, and writes RETURN with its MAC.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "card/channel.hpp"
#include "card/crypto.hpp"
#include "card/profile.hpp"

namespace kiosk::card {

struct MeterConfig {
  std::uint64_t meterNumber = 0;
  Utility utility = Utility::Electricity;
  std::uint8_t keyVersion = 1;
  SymKey tokenKey{};   // deriveTokenKey(vending key, meter, version)
  SymKey returnKey{};  // deriveReturnKey(vending key, meter, version)

  // The keys a meter is loaded with at the factory, from the vending key.
  static MeterConfig fromVendingKey(const SymKey& vendingKey, std::uint64_t meterNumber,
                                    Utility utility, std::uint8_t keyVersion = 1);
};

enum class TokenVerdict {
  Loaded,
  ForgedMac,      // MAC does not verify with this meter's key: not loaded, left on the card
  Replayed,       // sequence not above the last loaded one: not loaded, record freed
  WrongMeter,     // for another meter: left on the card
  WrongUtility,   // for another utility: left on the card
  WrongKeyVersion,
};
std::string_view toString(TokenVerdict verdict);

struct TokenOutcome {
  std::uint8_t record = 0;
  CreditToken token;
  TokenVerdict verdict = TokenVerdict::Loaded;
};

struct MeterState {
  std::int64_t credit = 0;        // minor units; negative inside the overdraft
  std::uint64_t consumption = 0;  // cumulative thousandths of a unit (Wh, litres)
  std::uint32_t lastSequence = 0;
  bool cutOff = false;
  bool tamper = false;            // a forged token was presented
  std::uint8_t alarmLevel = 0;    // 0 none, 1..3
  std::int64_t now = 0;           // Unix seconds of the simulated clock
  std::optional<Params> params;
};

struct MeterVisit {
  std::vector<TokenOutcome> tokens;
  std::int64_t loadedAmount = 0;
  bool paramsAdopted = false;
  ReturnRecord written;           // what went into the card's RETURN file
  std::size_t apdus = 0;
};

class VirtualMeter {
 public:
  VirtualMeter(MeterConfig config, std::int64_t startTime);

  // SELECT, READ PARAMS, READ all CREDIT, UPDATE RECORD (free) for each loaded or replayed
  // token, UPDATE BINARY RETURN. ForeignCard, BadData (no valid PARAMS ever seen), Removed...
  Result<MeterVisit, CardError> insertCard(CardChannel& channel);
  Result<MeterVisit, CardError> insertCard(CardEmulator& card);  // in-process

  // Continues from the meter's last RETURN (a meter restarted in a simulation): credit,
  // consumption, last sequence, flags and time. Ignored unless it is for this meter and its
  // MAC verifies with this meter's RETURN key; returns whether it was taken.
  bool resume(const ReturnRecord& last);

  // Consumes at a constant rate (thousandths of a unit per hour) for `seconds` of simulated
  // time, charged by the tariff, in steps of at most an hour.
  void run(std::int64_t seconds, std::uint64_t milliUnitsPerHour);
  // Consumes `milliUnits` at once (if supply is on).
  void consume(std::uint64_t milliUnits);

  const MeterState& state() const { return m_state; }
  const MeterConfig& config() const { return m_config; }
  // The sealed RETURN record of the current state.
  ReturnRecord returnRecord() const;

 private:
  void updateAlarms();
  TokenVerdict judge(const CreditToken& token) const;

  MeterConfig m_config;
  MeterState m_state;
  std::uint64_t m_costRemainder = 0;  // thousandths of a minor unit not yet charged
};

}  // namespace kiosk::card
