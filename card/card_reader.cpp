#include "card/card_reader.hpp"

#include <algorithm>
#include <optional>

#include "card/apdu.hpp"
#include "platform/worker_thread.hpp"

namespace kiosk::card {

namespace {

constexpr std::size_t kAuthChallengeSize = 16;
constexpr int kChecksNiceness = 10;

// Opens an exchange's transaction, or takes over the one a write's GET CHALLENGE left open,
// and ends it on every path unless kept open for the write's script. The card's own outcome
// wins over a failing end.
class Transaction {
 public:
  Transaction(CardChannel& channel, bool& writeOpen) : m_channel(channel), m_writeOpen(writeOpen) {}
  Result<void, CardError> begin() {
    if (m_writeOpen) {
      m_writeOpen = false;
      m_open = true;
      return {};
    }
    auto begun = m_channel.beginTransaction();
    m_open = static_cast<bool>(begun);
    return begun;
  }
  // Leaves the transaction open for the next operation of the same reader.
  void keepForWrite() {
    m_writeOpen = m_open;
    m_open = false;
  }
  ~Transaction() {
    if (m_open) (void)m_channel.endTransaction();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  CardChannel& m_channel;
  bool& m_writeOpen;
  bool m_open = false;
};

bool containsRecord(ByteView data, ByteView record) {
  if (record.empty()) return false;
  for (std::size_t offset = 0; offset + record.size() <= data.size(); offset += record.size()) {
    if (std::equal(record.begin(), record.end(), data.begin() + static_cast<std::ptrdiff_t>(offset))) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool CardSnapshot::hasToken(const CreditToken& token) const {
  return std::find(credits.begin(), credits.end(), token) != credits.end();
}

CardReader::CardReader(CardChannel& channel, const EcKey& issuerPublic)
    : m_channel(channel),
      m_ownIds(std::make_unique<IdVerifier>(issuerPublic)),
      m_ids(*m_ownIds) {}

CardReader::CardReader(CardChannel& channel, IdVerifier& ids) : m_channel(channel), m_ids(ids) {}

CardReader::~CardReader() { abandonWrite(); }

void CardReader::abandonWrite() {
  if (!m_writeOpen) return;
  m_writeOpen = false;
  (void)m_channel.endTransaction();
}

Result<Response, CardError> CardReader::exchange(ByteView command) {
  ++m_apdus;
  auto raw = m_channel.transmit(command);
  if (!raw) return fail(raw.error());
  return parseResponse(*raw);
}

Result<void, CardError> CardReader::select() {
  auto selected = exchange(commands::selectAid());
  if (!selected) return fail(selected.error());
  // Any refusal of our AID means the application is not there: another card.
  if (selected->sw == sw::kFileNotFound || selected->sw == sw::kFunctionNotSupported ||
      selected->sw == sw::kInsNotSupported || selected->sw == sw::kClaNotSupported) {
    return fail(CardError::ForeignCard);
  }
  if (!selected->ok()) return fail(statusWordError(selected->sw));
  return {};
}

Result<CardSnapshot, CardError> CardReader::read(const ReadOptions& options) {
  const std::size_t before = m_apdus;
  Transaction transaction(m_channel, m_writeOpen);
  if (auto begun = transaction.begin(); !begun) return fail(begun.error());
  if (auto selected = select(); !selected) return fail(selected.error());

  auto idData = exchange(commands::readBinary(profile::kSfiId));
  if (!idData) return fail(idData.error());
  if (!idData->ok()) return fail(statusWordError(idData->sw));

  // The two signature checks (the issuer's over the ID file, the card's over the challenge)
  // run on the checks thread while the next APDUs are in flight; each costs about as much as
  // an APDU round trip. Nothing is returned before both are done, and errors come out in the
  // order the checks stand in the read: the ID file's, then the authentication's, then the
  // later APDUs'. (An ID file that fails its check still gets the later read APDUs sent to its
  // card: they only read.)
  std::optional<Result<VerifiedId, CardError>> verified;
  bool authentic = false;
  platform::WorkerThread& checks = checkThread();
  struct Drain {
    platform::WorkerThread& thread;
    ~Drain() { thread.wait(); }
  } drain{checks};
  checks.post([this, &verified, file = std::move(idData->data)] { verified = m_ids.check(file); });
  const auto idFirst = [&](CardError later) {
    checks.wait();
    return *verified ? later : verified->error();
  };
  const auto checksError = [&]() -> std::optional<CardError> {
    checks.wait();
    if (!*verified) return verified->error();
    if (!authentic) return CardError::NotAuthentic;
    return std::nullopt;
  };
  const auto checksFirst = [&](CardError later) { return checksError().value_or(later); };

  // The card proves it holds the private key the issuer certified: a copied ID file
  // without that key cannot answer, nor can a card that replays an earlier answer. This is
  // why the check is never cached, even for an ID file the kiosk has seen before.
  Bytes challenge = randomBytes(kAuthChallengeSize);
  auto auth = exchange(commands::internalAuthenticate(challenge));
  if (!auth) return fail(idFirst(auth.error()));
  if (!auth->ok()) return fail(idFirst(CardError::NotAuthentic));
  checks.post([&verified, &authentic, challenge = std::move(challenge),
               signature = std::move(auth->data)] {
    authentic = *verified && (*verified)->cardKey->verify(
                                 internalAuthMessage((*verified)->id.cardNumber, challenge),
                                 signature);
  });

  CardSnapshot snapshot;
  auto credit = exchange(commands::readAllRecords(profile::kSfiCredit));
  if (!credit) return fail(checksFirst(credit.error()));
  if (!credit->ok()) return fail(checksFirst(statusWordError(credit->sw)));
  auto tokens = decodeCreditRecords(credit->data);
  if (!tokens) return fail(checksFirst(tokens.error()));
  snapshot.creditRecords.reserve(tokens->size());
  snapshot.credits.reserve(tokens->size());
  for (auto& [record, token] : *tokens) {
    snapshot.creditRecords.push_back(record);
    snapshot.credits.push_back(token);
  }
  snapshot.freeRecords = profile::kCreditRecords - snapshot.credits.size();

  auto ret = exchange(commands::readBinary(profile::kSfiReturn));
  if (!ret) return fail(checksFirst(ret.error()));
  if (!ret->ok()) return fail(checksFirst(statusWordError(ret->sw)));
  auto meterReturn = decodeReturnFile(ret->data);
  if (!meterReturn) return fail(checksFirst(meterReturn.error()));
  snapshot.meterReturn = *meterReturn;

  if (options.readParams) {
    auto params = exchange(commands::readBinary(profile::kSfiParams));
    if (!params) return fail(checksFirst(params.error()));
    if (!params->ok()) return fail(checksFirst(statusWordError(params->sw)));
    auto decoded = decodeParams(params->data);
    if (!decoded) return fail(checksFirst(decoded.error()));
    snapshot.params = *decoded;
  }
  if (const auto refused = checksError()) return fail(*refused);
  snapshot.id = std::move((*verified)->id);
  snapshot.apdus = m_apdus - before;
  return snapshot;
}

platform::WorkerThread& CardReader::checkThread() {
  // Background priority (nice +10): the checks fill the gaps while the APDUs travel, instead of
  // preempting the thread that sends them, which on wake-up would take its core from it. On a
  // two-core kiosk that is the difference between overlapping a signature check with the APDUs
  // in flight and stalling the read for the length of the check.
  if (!m_checks) {
    platform::WorkerOptions options;
    options.atStop = platform::WorkerOptions::AtStop::Finish;
    options.niceness = kChecksNiceness;
    options.name = "card-checks";
    m_checks = std::make_unique<platform::WorkerThread>(std::move(options));
  }
  return *m_checks;
}

Result<Bytes, CardError> CardReader::getChallenge(HoldForScript hold) {
  if (hold == HoldForScript::No) abandonWrite();
  Transaction transaction(m_channel, m_writeOpen);
  if (hold == HoldForScript::Yes) {
    if (auto begun = transaction.begin(); !begun) return fail(begun.error());
  }
  auto challenge = exchange(commands::getChallenge());
  if (!challenge) return fail(challenge.error());
  if (!challenge->ok()) return fail(statusWordError(challenge->sw));
  if (challenge->data.size() != profile::kChallengeSize) return fail(CardError::Protocol);
  // Held across the cloud's work on the script: see the header and docs/card-profile.md.
  transaction.keepForWrite();
  return challenge->data;
}

Result<void, CardError> CardReader::runScript(const WriteScript& script) {
  Transaction transaction(m_channel, m_writeOpen);
  if (auto begun = transaction.begin(); !begun) return fail(begun.error());
  for (const ScriptStep& step : script.steps) {
    auto response = exchange(step.apdu);
    if (!response) return fail(response.error());
    if (response->sw != step.expectSw) return fail(statusWordError(response->sw));
    if (step.expectRecord && !containsRecord(response->data, *step.expectRecord)) {
      return fail(CardError::BadData);  // the read-back does not show what was written
    }
  }
  return {};
}

Result<void, CardError> CardReader::writeToken(const WriteScript& script,
                                               const CreditToken& token) {
  const Bytes record = encodeToken(token);
  Transaction transaction(m_channel, m_writeOpen);
  if (auto begun = transaction.begin(); !begun) return fail(begun.error());
  bool seen = false;
  for (const ScriptStep& step : script.steps) {
    auto response = exchange(step.apdu);
    if (!response) return fail(response.error());
    if (response->sw != step.expectSw) return fail(statusWordError(response->sw));
    if (step.expectRecord && !containsRecord(response->data, *step.expectRecord)) {
      return fail(CardError::BadData);
    }
    seen = seen || (response->data.size() % profile::kTokenSize == 0 &&
                    containsRecord(response->data, record));
  }
  if (seen) return {};
  // The script did not read the token back: the kiosk checks for itself.
  auto credit = exchange(commands::readAllRecords(profile::kSfiCredit));
  if (!credit) return fail(credit.error());
  if (!credit->ok()) return fail(statusWordError(credit->sw));
  if (!containsRecord(credit->data, record)) return fail(CardError::BadData);
  return {};
}

Result<Bytes, CardError> CardReader::proveRecord(std::uint8_t record, ByteView nonce) {
  abandonWrite();
  const Bytes command = commands::proveRecord(record, nonce);
  auto proof = exchange(command);
  if (proof && proof->sw == sw::kConditionsNotSatisfied) {
    if (auto selected = select(); !selected) return fail(selected.error());
    proof = exchange(command);
  }
  if (!proof) return fail(proof.error());
  if (!proof->ok()) return fail(statusWordError(proof->sw));
  if (proof->data.empty()) return fail(CardError::Protocol);
  return proof->data;
}

Result<bool, CardError> CardReader::tokenOnCard(const CreditToken& token) {
  Transaction transaction(m_channel, m_writeOpen);
  if (auto begun = transaction.begin(); !begun) return fail(begun.error());
  if (auto selected = select(); !selected) return fail(selected.error());
  auto credit = exchange(commands::readAllRecords(profile::kSfiCredit));
  if (!credit) return fail(credit.error());
  if (!credit->ok()) return fail(statusWordError(credit->sw));
  auto tokens = decodeCreditRecords(credit->data);
  if (!tokens) return fail(tokens.error());
  return std::any_of(tokens->begin(), tokens->end(),
                     [&](const auto& entry) { return entry.second == token; });
}

}  // namespace kiosk::card
