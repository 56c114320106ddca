#pragma once
// The seam between the kiosk and a type of card, as OpenSC puts each card type behind a card
// driver: the kiosk asks a profile for the card's facts, to check a write script against the
// card, to relay it and to find a token on read-back, without knowing the card's files and
// commands. The open profile (card/open_profile.hpp) is the first implementation.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "card/channel.hpp"
#include "card/error.hpp"
#include "card/profile.hpp"
#include "card/write_script.hpp"
#include "platform/bytes.hpp"
#include "platform/result.hpp"

namespace kiosk::card {

// An authenticated read of a card: what the kiosk shows and decides on. A profile whose card
// keeps other records maps them onto these.
struct CardFacts {
  IdFile id;
  std::vector<CreditToken> credits;         // tokens the meter has not loaded yet
  std::size_t freeRecords = 0;              // room for more tokens
  std::optional<ReturnRecord> meterReturn;  // what the meter wrote last, if it has
  std::optional<Params> params;             // the meter's tariff: read only when asked for

  std::string cardNumber() const { return std::to_string(id.cardNumber); }
  std::string meterNumber() const { return std::to_string(id.meterNumber); }
  // The token is among the card's unloaded credits.
  bool holds(const CreditToken& token) const;
};

// One card of a profile on one channel, for as long as the channel lasts. It may keep state
// from one operation to the next (the selected application, a thread for its checks), but no
// lock on the card: each operation is a transaction of its own, or a single APDU.
class ProfileSession {
 public:
  virtual ~ProfileSession() = default;
  // Reads the card and proves it authentic. ForeignCard when it is not a card of this
  // profile, NotAuthentic for a clone or a fake.
  virtual Result<CardFacts, CardError> readFacts() = 0;
  // The same and the PARAMS file too: every file of the card (the staff's reader test).
  virtual Result<CardFacts, CardError> readAllFiles() = 0;
  // A fresh challenge for a write script; the card was read on this session.
  virtual Result<Bytes, CardError> challenge() = 0;
  // Relays a write script, checking every status word and the read-back.
  virtual Result<void, CardError> runScript(const WriteScript& script) = 0;
  // Whether `token` is on the card now: the read-back after a tear or a failed write.
  virtual Result<bool, CardError> findToken(const CreditToken& token) = 0;
  // The card's own proof that it holds `token`, for the cloud's `nonce` (the open profile:
  // its signature of the token's CREDIT record as it holds it).
  virtual Result<Bytes, CardError> proveToken(const CreditToken& token, ByteView nonce) = 0;
  // APDUs this session has sent.
  virtual std::size_t apdus() const = 0;
};

class CardProfile {
 public:
  virtual ~CardProfile() = default;
  virtual std::string_view name() const = 0;
  // A session with the card on `channel`, which must outlive it.
  virtual std::unique_ptr<ProfileSession> open(CardChannel& channel) = 0;
  // Checks a write script against the card `card` describes before it is relayed (the kiosk
  // cannot check the script's MAC): it must write a token for this card, and only that. The
  // error says what is wrong, for the log.
  virtual Result<void, std::string> checkScript(const WriteScript& script,
                                                const CardFacts& card) const = 0;
};

}  // namespace kiosk::card
