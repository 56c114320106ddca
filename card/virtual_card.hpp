#pragma once
// A virtual card that implements the open profile (file system, SELECT, READ BINARY/RECORD,
// GET CHALLENGE, INTERNAL AUTHENTICATE, secure-messaging UPDATE, the ring of credit records),
// for in-process tests and simulation, or served on vpcd so that real pcscd talks to it.
// Its persistent state is a CardImage, saved and loaded as a JSON "card file".

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "card/apdu.hpp"
#include "platform/bytes.hpp"
#include "card/channel.hpp"
#include "card/crypto.hpp"
#include "card/error.hpp"
#include "card/profile.hpp"
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

// Where a write can be torn on purpose.
enum class TearPoint {
  None,
  BeforeCommit,  // the card leaves the field before the UPDATE changes anything
  AfterCommit,   // the UPDATE is stored, but the card leaves before it answers
};

class VirtualCard : public CardEmulator {
 public:
  explicit VirtualCard(CardImage image);

  Bytes atr() const override;
  void powerOn() override;
  void powerOff() override;
  // Answers data + SW1 SW2. When an armed tear fires, answers an EMPTY byte string instead:
  // the card has left the field mid-command. A link layer (vpcd socket, LocalChannel) must
  // then drop the connection / report CardError::Removed and treat the card as pulled.
  Bytes process(ByteView command) override;

  // Arms a one-shot tear at the next UPDATE RECORD / UPDATE BINARY (of any file), or only
  // of a command with instruction `ins` when given. Fires once, then disarms.
  void armTear(TearPoint point, std::optional<std::uint8_t> ins = std::nullopt);
  bool tearArmed() const { return m_tear != TearPoint::None; }
  // Called after the persistent state changed (for saving the card file as it goes).
  void onCommit(std::function<void(const CardImage&)> callback);

  const CardImage& image() const { return m_image; }
  CardImage& image() { return m_image; }

 private:
  Bytes select(const Apdu& apdu);
  Bytes readBinary(const Apdu& apdu);
  Bytes readRecord(const Apdu& apdu);
  Bytes updateBinary(const Apdu& apdu, ByteView plain);
  Bytes updateRecord(const Apdu& apdu, ByteView plain);
  Bytes getChallenge(const Apdu& apdu);
  Bytes internalAuthenticate(const Apdu& apdu);
  // Checks the SM MAC of an update and consumes the challenge; returns the plain data
  // or the status word to answer.
  std::optional<std::uint16_t> checkSm(const Apdu& apdu, Bytes& plain);
  bool commit(const std::function<void()>& change);
  Bytes* binaryFile(std::uint8_t sfi);

  // The card key as the chip holds it: parsed once from the image, not per INTERNAL
  // AUTHENTICATE. Rebuilt only when the image's ID file or private key bytes changed.
  struct SigningKey {
    Bytes id;
    Bytes scalar;
    std::uint64_t cardNumber = 0;
    EcKey key;
  };
  const SigningKey* signingKey();

  CardImage m_image;
  bool m_powered = false;
  bool m_selected = false;         // the application is selected
  std::optional<std::uint8_t> m_currentEf;  // SFI of the EF selected by FID
  std::optional<Bytes> m_challenge;  // volatile, single-use
  TearPoint m_tear = TearPoint::None;
  std::optional<std::uint8_t> m_tearIns;
  bool m_tornNow = false;
  std::uint8_t m_pendingIns = 0;  // the update being committed, for the tear filter
  std::function<void(const CardImage&)> m_onCommit;
  std::optional<SigningKey> m_signingKey;
};

// An in-process CardChannel over a CardEmulator, for unit tests and the simulation: no T=0,
// no reader. An empty answer from the emulator (a tear) makes the card "removed" until
// insert() is called again (power cycle: volatile state lost).
class LocalChannel : public CardChannel {
 public:
  explicit LocalChannel(CardEmulator& card);

  Result<Bytes, CardError> transmit(ByteView command) override;
  Result<void, CardError> beginTransaction() override;
  Result<void, CardError> endTransaction() override;
  Bytes atr() const override;

  void insert();  // power on
  void remove();  // power off
  bool present() const { return m_present; }
  std::size_t transmitted() const { return m_count; }  // APDUs sent since construction

 private:
  CardEmulator& m_card;
  bool m_present = true;
  std::size_t m_count = 0;
};

}  // namespace kiosk::card
