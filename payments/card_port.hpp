#pragma once
// What the engine needs from the card in the reader, without knowing how it is reached (PC/SC,
// vpcd, in-process): the kiosk implements it over the card layer's reader. Types are the card
// profile's pure formats.

#include <optional>
#include <string>
#include <vector>

#include "card/card_profile.hpp"
#include "card/error.hpp"
#include "card/profile.hpp"
#include "card/write_script.hpp"
#include "platform/result.hpp"

namespace kiosk::payments {

// An authenticated read of the card, as its profile gives it: for the open profile, the
// issuer's signature and the card's own signature of a fresh challenge both verified.
using card::CardFacts;

class CardPort {
 public:
  virtual ~CardPort() = default;
  // Reads and authenticates the card now in the reader (NoCard when there is none).
  virtual Result<CardFacts, card::CardError> read() = 0;
  // The same with every file of the card, PARAMS too (the staff's reader test).
  virtual Result<CardFacts, card::CardError> readAllFiles() = 0;
  // GET CHALLENGE for a secure-messaging write; the card must have been read since insertion.
  virtual Result<kiosk::Bytes, card::CardError> challenge() = 0;
  // Relays a write script, checking every status word and the read-back.
  virtual Result<void, card::CardError> run(const card::WriteScript& script) = 0;
  // Whether the token is in the card's CREDIT records now (after a tear or a failed write).
  virtual Result<bool, card::CardError> holds(const card::CreditToken& token) = 0;
  // The card's proof that it holds the token, for the cloud's delivery nonce.
  virtual Result<kiosk::Bytes, card::CardError> prove(const card::CreditToken& token,
                                                      kiosk::ByteView nonce) = 0;
};

}  // namespace kiosk::payments
