#pragma once
// What a kiosk reads in the cloud's answers: payments/decode.cpp refuses an answer with any
// field beyond these, so the cloud's operator endpoints refuse to store such values in the
// first place. Lengths are in bytes of UTF-8.

#include <cstddef>
#include <cstdint>

namespace kiosk::protocol::limits {

inline constexpr std::int64_t kMaxMoney = 100'000'000'00;  // minor units: a hundred million
inline constexpr std::int64_t kMaxTime = 32'503'680'000;   // Unix seconds: the year 3000

inline constexpr std::size_t kMaxIdLength = 64;           // ids of orders, kiosks, accounts,
                                                          // fees, tariffs and staff
inline constexpr std::size_t kMaxNumberLength = 19;       // card and meter numbers (digits)
inline constexpr std::size_t kMaxNameLength = 128;        // resident, tariff and staff names
inline constexpr std::size_t kMaxPlaceLength = 64;        // building, room, household
inline constexpr std::size_t kMaxLocationLength = 256;    // a kiosk's location
inline constexpr std::size_t kMaxServiceTextLength = 64;  // service phone, service hours
inline constexpr std::size_t kMaxZoneLength = 64;         // an IANA time zone name
inline constexpr std::size_t kMaxDescriptionLength = 256; // a fee's description
inline constexpr std::size_t kMaxKindLength = 32;         // fee item, fee policy, tariff kind,
                                                          // band name, order state, origin
inline constexpr std::size_t kMaxUtilityLength = 16;      // electricity, water

inline constexpr std::size_t kMaxTariffs = 256;           // in a kiosk's configuration
inline constexpr std::size_t kMaxTariffSteps = 16;        // tiers or time-of-use bands
inline constexpr std::size_t kMaxStaff = 1000;            // active staff in the configuration
inline constexpr std::size_t kMaxBlockedCards = 100000;   // in the configuration
inline constexpr std::size_t kMaxFeesOwed = 256;          // in a card lookup
inline constexpr std::size_t kMaxFeeItems = 64;           // fees one order settles
inline constexpr std::size_t kMaxOrderList = 64;          // pending or recent orders of a card

}  // namespace kiosk::protocol::limits
