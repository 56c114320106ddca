#pragma once
// A card's persistent state (file contents and secrets) as issuance makes it and a virtual
// card keeps it, and the JSON "card file" it is saved in.

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

#include "card/crypto.hpp"
#include "card/error.hpp"
#include "card/profile.hpp"
#include "platform/bytes.hpp"
#include "platform/result.hpp"

namespace kiosk::card {

// Everything the chip keeps across power cycles: file contents and its secrets.
struct CardImage {
  Bytes atr;
  Bytes id;                                         // ID file (BER-TLV)
  std::array<Bytes, profile::kCreditRecords> credit;  // 32 bytes each, zeros = free
  Bytes meterReturn;                                // kReturnSize bytes, zeros = none yet
  Bytes params;                                     // kParamsSize bytes
  Bytes cardPrivateKey;                             // 32-byte P-256 scalar
  SymKey smKey{};                                   // the card's diversified SM key

  bool operator==(const CardImage&) const = default;
};

// The default ATR of the virtual card (T=1, historical bytes "KIOSK").
Bytes defaultAtr();

// Card file: {"format":"kiosk-card-v1","atr":HEX,"id":HEX,"credit":[HEX x8],"return":HEX,
// "params":HEX,"card_private_key":HEX,"sm_key":HEX}. Strict: wrong sizes are BadData.
std::string cardImageToJson(const CardImage& image);
Result<CardImage, CardError> cardImageFromJson(std::string_view json);
Result<CardImage, CardError> loadCardFile(const std::filesystem::path& file);
// Writes to a temporary file and renames it over `file`, so that a crash leaves the old card.
bool saveCardFile(const std::filesystem::path& file, const CardImage& image);

}  // namespace kiosk::card
