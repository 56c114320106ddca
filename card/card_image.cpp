#include "card/card_image.hpp"

#include <algorithm>
#include <fstream>
#include <system_error>

#include <nlohmann/json.hpp>

namespace kiosk::card {

Bytes defaultAtr() {
  // TS=3B, T0=8? with TD1 for T=1, historical bytes "KIOSK", TCK.
  Bytes atr{0x3B, 0x85, 0x80, 0x01, 'K', 'I', 'O', 'S', 'K'};
  std::uint8_t tck = 0;
  for (std::size_t i = 1; i < atr.size(); ++i) tck ^= atr[i];
  atr.push_back(tck);
  return atr;
}

namespace {

Result<Bytes, CardError> hexField(const nlohmann::json& doc, const char* name,
                                  std::optional<std::size_t> size) {
  const auto it = doc.find(name);
  if (it == doc.end() || !it->is_string()) return fail(CardError::BadData);
  auto bytes = fromHex(it->get<std::string>());
  if (!bytes || (size && bytes->size() != *size)) return fail(CardError::BadData);
  return std::move(*bytes);
}

}  // namespace

std::string cardImageToJson(const CardImage& image) {
  nlohmann::json credit = nlohmann::json::array();
  for (const Bytes& record : image.credit) credit.push_back(toHex(record));
  const nlohmann::json doc{{"format", "kiosk-card-v1"},
                           {"atr", toHex(image.atr)},
                           {"id", toHex(image.id)},
                           {"credit", std::move(credit)},
                           {"return", toHex(image.meterReturn)},
                           {"params", toHex(image.params)},
                           {"card_private_key", toHex(image.cardPrivateKey)},
                           {"sm_key", toHex(image.smKey)}};
  return doc.dump(2) + "\n";
}

Result<CardImage, CardError> cardImageFromJson(std::string_view json) {
  const auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail(CardError::BadData);
  const auto format = doc.find("format");
  if (format == doc.end() || *format != "kiosk-card-v1") return fail(CardError::BadData);
  CardImage image;
  auto atr = hexField(doc, "atr", std::nullopt);
  auto id = hexField(doc, "id", std::nullopt);
  auto ret = hexField(doc, "return", profile::kReturnSize);
  auto params = hexField(doc, "params", profile::kParamsSize);
  auto priv = hexField(doc, "card_private_key", 32);
  auto sm = hexField(doc, "sm_key", 16);
  if (!atr || atr->size() < 2 || atr->size() > 33 || !id || id->size() > profile::kIdMaxSize ||
      !ret || !params || !priv || !sm) {
    return fail(CardError::BadData);
  }
  const auto credit = doc.find("credit");
  if (credit == doc.end() || !credit->is_array() || credit->size() != profile::kCreditRecords) {
    return fail(CardError::BadData);
  }
  for (std::size_t i = 0; i < profile::kCreditRecords; ++i) {
    if (!(*credit)[i].is_string()) return fail(CardError::BadData);
    auto record = fromHex((*credit)[i].get<std::string>());
    if (!record || record->size() != profile::kTokenSize) return fail(CardError::BadData);
    image.credit[i] = std::move(*record);
  }
  image.atr = std::move(*atr);
  image.id = std::move(*id);
  image.meterReturn = std::move(*ret);
  image.params = std::move(*params);
  image.cardPrivateKey = std::move(*priv);
  std::copy(sm->begin(), sm->end(), image.smKey.begin());
  return image;
}

Result<CardImage, CardError> loadCardFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(CardError::NoCard);
  // A card file is a few kilobytes; a read loop with a limit keeps a wrong path from
  // swallowing a huge file.
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > (1U << 20U)) return fail(CardError::BadData);
  }
  return cardImageFromJson(text);
}

bool saveCardFile(const std::filesystem::path& file, const CardImage& image) {
  std::filesystem::path temporary = file;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << cardImageToJson(image);
    out.flush();
    if (!out) return false;
  }
  std::error_code error;
  std::filesystem::rename(temporary, file, error);
  return !error;
}

}  // namespace kiosk::card
