#pragma once
// Reads and writes a profile card over any CardChannel: the five-APDU read that verifies the
// card offline (issuer signature over the ID file, then the card's own signature of a fresh
// challenge), the relay of a write script with read-back, and the check after a tear.

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "card/apdu.hpp"
#include "card/channel.hpp"
#include "card/crypto.hpp"
#include "card/id_verifier.hpp"
#include "card/profile.hpp"
#include "card/write_script.hpp"

namespace kiosk::platform {
class WorkerThread;
}

namespace kiosk::card {

// What a card read returns. Only produced for a card that proved itself authentic.
struct CardSnapshot {
  IdFile id;
  std::vector<CreditToken> credits;     // tokens not yet loaded by the meter
  std::vector<std::uint8_t> creditRecords;  // record number of each token in `credits`
  std::size_t freeRecords = 0;
  std::optional<ReturnRecord> meterReturn;  // nullopt until the meter has written
  std::optional<Params> params;             // only when asked for
  std::size_t apdus = 0;                    // APDUs the read took

  bool hasToken(const CreditToken& token) const;
};

struct ReadOptions {
  bool readParams = false;  // a sixth APDU
};

class CardReader {
 public:
  // `issuerPublic` verifies the ID file's signature offline. The reader keeps a copy of the
  // key and its own cache of verified ID files (see IdVerifier).
  CardReader(CardChannel& channel, const EcKey& issuerPublic);
  // Shares `ids` (the issuer key and its cache) with other readers, for a kiosk that makes a
  // reader per operation. `ids` must outlive the reader.
  CardReader(CardChannel& channel, IdVerifier& ids);
  // The channel must outlive the reader: a write left open is ended here.
  ~CardReader();
  CardReader(const CardReader&) = delete;
  CardReader& operator=(const CardReader&) = delete;

  // SELECT AID, READ BINARY ID, INTERNAL AUTHENTICATE, READ RECORD all CREDIT, READ BINARY
  // RETURN, in one transaction. The issuer's check of an ID file already seen may come from
  // the cache; the card's signature of the fresh challenge is verified every time. Both
  // checks run on a thread of the reader's own while the later APDUs are in flight, and the
  // read returns only once they passed (a failing check wins over later errors). Errors:
  // ForeignCard (AID absent), NotAuthentic (signature or authentication fails: clone, fake,
  // unknown issuer), BadData (malformed file), Removed, Protocol, and the transport's errors.
  Result<CardSnapshot, CardError> read(const ReadOptions& options = {});

  // GET CHALLENGE for a secure-messaging write (the card must be selected: after read()).
  // A write is one PC/SC transaction from GET CHALLENGE to the script's read-back: on
  // success the transaction stays open, while the cloud builds the script for this
  // challenge, and the next runScript() or writeToken() runs in it and ends it. (Any other
  // operation takes it over and ends it too; abandonWrite() or the destructor ends it when no
  // script comes.) Holding it keeps other applications from discarding the single-use
  // challenge in between. The kiosk's port ends it at once instead, as it must not hold a
  // lock while the cloud works: see docs/card-profile.md, "Write script".
  // HoldForScript::No sends GET CHALLENGE alone, in no transaction (pcscd passes one APDU
  // whole; a transaction would only add its begin and end round trips), and ends a write's
  // transaction left open before it: the kiosk's way.
  enum class HoldForScript { Yes, No };
  Result<Bytes, CardError> getChallenge(HoldForScript hold = HoldForScript::Yes);

  // Runs the steps of a script in one transaction (the one getChallenge() left open, or its
  // own); every step must answer its expected status word and read-back. Full when the ring
  // is full, AccessDenied when the MAC or the challenge is wrong, Removed on a tear.
  Result<void, CardError> runScript(const WriteScript& script);

  // Runs a credit write script and makes sure `token` is on the card afterwards: from the
  // script's own read-back when it has one, else with one READ RECORD of all CREDIT records.
  // BadData when the card answers but the token is not there. Transaction as runScript().
  Result<void, CardError> writeToken(const WriteScript& script, const CreditToken& token);

  // Ends the transaction getChallenge() left open (no script is coming: the cloud failed).
  void abandonWrite();

  // After a reinsertion: SELECT and READ RECORD all CREDIT (two APDUs), then whether the
  // token is on the card. The caller confirms delivery on true and rewrites on false.
  Result<bool, CardError> tokenOnCard(const CreditToken& token);

  // The card's proof that it holds CREDIT record `record`: INTERNAL AUTHENTICATE P1 = 01 with
  // the cloud's nonce, answered with the card's signature of the record as it holds it (see
  // docs/card-profile.md, "Delivery proof"). One APDU in no transaction, like the kiosk's GET
  // CHALLENGE; a card that lost its selection (6985) is selected and asked again.
  Result<Bytes, CardError> proveRecord(std::uint8_t record, ByteView nonce);

  std::size_t apduCount() const { return m_apdus; }

 private:
  Result<Response, CardError> exchange(ByteView command);
  Result<void, CardError> select();
  platform::WorkerThread& checkThread();

  CardChannel& m_channel;
  std::unique_ptr<IdVerifier> m_ownIds;
  IdVerifier& m_ids;
  // Signature checks of read(), started at the first.
  std::unique_ptr<platform::WorkerThread> m_checks;
  bool m_writeOpen = false;  // getChallenge() left the transaction open for the script
  std::size_t m_apdus = 0;
};

}  // namespace kiosk::card
