#pragma once
// The transaction engine's card port on a real card layer: ReaderCardPort reads,
// authenticates and writes the inserted card through its card profile (the open profile
// unless told otherwise) over whatever channel the reader gives (PC/SC for real readers and
// vpcd, in-process in tests).

#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "card/card_profile.hpp"
#include "card/channel.hpp"
#include "card/crypto.hpp"
#include "payments/card_port.hpp"

namespace kiosk::payments {

class ReaderCardPort final : public CardPort {
 public:
  using Connect = std::function<Result<std::unique_ptr<card::CardChannel>, card::CardError>()>;

  // Cards of the open profile, their ID files verified with `issuerPublic`.
  ReaderCardPort(Connect connect, const card::EcKey& issuerPublic);
  // Cards of `profile`.
  ReaderCardPort(Connect connect, std::unique_ptr<card::CardProfile> profile);
  // A PC/SC reader by name, connected shared. The port holds no PC/SC lock between its
  // operations (no exclusive connection, no transaction left open): each operation runs in a
  // transaction of its own, so other applications reach the card in between. A kiosk that
  // dies holding a lock makes pcscd reset the card when it cleans up after it, and when the
  // card left with it (vpcd's card in the killed process, or a card pulled at that moment)
  // pcsc-lite 1.9.9 marks the slot empty behind its own presence poll: a card put in before
  // that poll is taken for the old one and never powered or reported.
  static Connect pcsc(std::string reader);

  // The next operation connects afresh: a new card, or the same one back.
  void cardInserted();
  void cardRemoved();

  Result<CardFacts, card::CardError> read() override;
  Result<CardFacts, card::CardError> readAllFiles() override;
  Result<kiosk::Bytes, card::CardError> challenge() override;
  // The profile checks the script against the card read last before it goes out:
  // AccessDenied, and nothing sent, when it does not fit that card (or no card was read).
  Result<void, card::CardError> run(const card::WriteScript& script) override;
  Result<bool, card::CardError> holds(const card::CreditToken& token) override;
  Result<kiosk::Bytes, card::CardError> prove(const card::CreditToken& token,
                                              kiosk::ByteView nonce) override;

  // APDUs sent since construction (the benchmark's count).
  std::size_t apdus() const;

 private:
  Result<card::ProfileSession*, card::CardError> session();
  void drop();
  template <class Op>
  auto withSession(Op op) -> decltype(op(std::declval<card::ProfileSession&>()));

  mutable std::mutex m_mutex;
  Connect m_connect;
  // Remembers what it needs across channels and readers (the open profile: the ID files of
  // the cards it verified).
  std::unique_ptr<card::CardProfile> m_profile;
  std::unique_ptr<card::CardChannel> m_channel;
  // One session per channel, kept from one operation to the next (the open profile's
  // signature check thread with it); it never keeps a transaction open between them.
  std::unique_ptr<card::ProfileSession> m_session;
  // The card read last, which a write script must fit.
  std::optional<card::CardFacts> m_facts;
  std::size_t m_apdus = 0;
};

}  // namespace kiosk::payments
