#pragma once
// A virtual card that implements the open profile (file system, SELECT, READ BINARY/RECORD,
// GET CHALLENGE, INTERNAL AUTHENTICATE, secure-messaging UPDATE, the ring of credit records),
// for in-process tests and simulation, or served on vpcd so that real pcscd talks to it.
// Its persistent state is a CardImage (card/card_image.hpp).

#include <cstdint>
#include <functional>
#include <optional>

#include "card/apdu.hpp"
#include "card/card_image.hpp"
#include "platform/bytes.hpp"
#include "card/channel.hpp"
#include "card/crypto.hpp"
#include "card/error.hpp"
#include "card/local_channel.hpp"
#include "card/profile.hpp"
#include "platform/result.hpp"

namespace kiosk::card {

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

}  // namespace kiosk::card
