#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "card/apdu.hpp"
#include "card/card_reader.hpp"
#include "card/write_script.hpp"
#include "fixtures.hpp"

namespace kiosk::card {
namespace {

using namespace test;

// A card of another application (a bank card): it knows no profile command.
class ForeignEmulator : public CardEmulator {
 public:
  Bytes atr() const override { return hex("3B6800000073C84013009000"); }
  void powerOn() override {}
  void powerOff() override {}
  Bytes process(ByteView command) override {
    if (command.size() >= 2 && command[1] == profile::kInsSelect) {
      return encodeResponse(sw::kFileNotFound);
    }
    return encodeResponse(sw::kInsNotSupported);
  }
};

class SessionTest : public ::testing::Test {
 public:
  SessionTest()
      : issuer(loadKey(kIssuerPem).publicOnly()), card(standardCard()), channel(card) {}

  // What the cloud does for a kiosk: mint the token and build the script for the challenge.
  WriteScript scriptFor(const CreditToken& token, ByteView challenge) {
    return buildCreditWriteScript(kSmMaster, kCardNumber, challenge, token,
                                  creditRecordFor(token.sequence))
        .value();
  }

  EcKey issuer;
  VirtualCard card;
  LocalChannel channel;
};

TEST_F(SessionTest, ReadVerifiesTheCardInFiveApdus) {
  CardReader reader(channel, issuer);
  auto snapshot = reader.read();
  ASSERT_TRUE(snapshot) << describe(snapshot.error());
  EXPECT_EQ(channel.transmitted(), 5U);
  EXPECT_EQ(snapshot->apdus, 5U);
  EXPECT_EQ(snapshot->id.cardNumber, kCardNumber);
  EXPECT_EQ(snapshot->id.meterNumber, kMeterNumber);
  EXPECT_EQ(snapshot->id.accountNumber, kAccount);
  EXPECT_TRUE(snapshot->credits.empty());
  EXPECT_EQ(snapshot->freeRecords, 8U);
  EXPECT_FALSE(snapshot->meterReturn.has_value());
  EXPECT_FALSE(snapshot->params.has_value());

  auto withParams = reader.read({.readParams = true});
  ASSERT_TRUE(withParams);
  EXPECT_EQ(withParams->apdus, 6U);
  EXPECT_EQ(withParams->params.value(), standardParams());
}

TEST_F(SessionTest, ForeignCardIsReportedAsSuch) {
  ForeignEmulator bankCard;
  LocalChannel foreign(bankCard);
  CardReader reader(foreign, issuer);
  auto snapshot = reader.read();
  ASSERT_FALSE(snapshot);
  EXPECT_EQ(snapshot.error(), CardError::ForeignCard);
  EXPECT_EQ(foreign.transmitted(), 1U);
}

TEST_F(SessionTest, ClonedIdFileWithoutTheCardKeyIsNotAuthentic) {
  // The cloner copies the ID file byte for byte but cannot extract the private key, so the
  // clone carries a key of its own.
  CardImage clone = card.image();
  clone.cardPrivateKey = loadKey(kOtherPem).privateScalar();
  VirtualCard cloned(clone);
  LocalChannel clonedChannel(cloned);
  CardReader reader(clonedChannel, issuer);
  auto snapshot = reader.read();
  ASSERT_FALSE(snapshot);
  EXPECT_EQ(snapshot.error(), CardError::NotAuthentic);
}

// A clone that answers INTERNAL AUTHENTICATE with an answer it recorded from the real card.
class ReplayingClone : public CardEmulator {
 public:
  ReplayingClone(CardImage image, Bytes recordedAnswer)
      : m_card(std::move(image)), m_answer(std::move(recordedAnswer)) {}
  Bytes atr() const override { return m_card.atr(); }
  void powerOn() override { m_card.powerOn(); }
  void powerOff() override { m_card.powerOff(); }
  Bytes process(ByteView command) override {
    if (command.size() >= 2 && command[1] == profile::kInsInternalAuthenticate) return m_answer;
    return m_card.process(command);
  }

 private:
  VirtualCard m_card;
  Bytes m_answer;
};

// The issuer's check of an ID file the kiosk has seen is remembered, the card's signature of
// the fresh challenge is not: a clone of a card read a moment ago is still refused.
TEST_F(SessionTest, RememberedIdFileStillNeedsTheCardsOwnSignature) {
  IdVerifier ids(issuer);
  {
    CardReader reader(channel, ids);
    ASSERT_TRUE(reader.read());
    EXPECT_EQ(ids.hits(), 0U);
    auto again = reader.read();
    ASSERT_TRUE(again);
    EXPECT_EQ(ids.hits(), 1U);  // the repeat read skipped the issuer check
    EXPECT_EQ(again->id.cardNumber, kCardNumber);
  }

  // The same ID file byte for byte, on a card with another key.
  CardImage copy = card.image();
  copy.cardPrivateKey = loadKey(kOtherPem).privateScalar();
  VirtualCard cloned(copy);
  LocalChannel clonedChannel(cloned);
  CardReader cloneReader(clonedChannel, ids);
  auto snapshot = cloneReader.read();
  ASSERT_FALSE(snapshot);
  EXPECT_EQ(snapshot.error(), CardError::NotAuthentic);
  EXPECT_EQ(ids.hits(), 2U);  // the ID file came from the cache: the card's signature refused it

  // The same ID file, replaying the real card's answer to an earlier challenge.
  ASSERT_EQ(card.process(commands::selectAid()), encodeResponse(sw::kOk));
  const Bytes recorded =
      card.process(commands::internalAuthenticate(hex("00112233445566778899AABBCCDDEEFF")));
  ASSERT_EQ(parseResponse(recorded).value().sw, sw::kOk);
  ReplayingClone replaying(card.image(), recorded);
  LocalChannel replayChannel(replaying);
  CardReader replayReader(replayChannel, ids);
  snapshot = replayReader.read();
  ASSERT_FALSE(snapshot);
  EXPECT_EQ(snapshot.error(), CardError::NotAuthentic);
  EXPECT_EQ(ids.hits(), 3U);
}

TEST_F(SessionTest, IdFileSignedByAnotherIssuerIsNotAuthentic) {
  auto fake = issueCard(standardRequest(), loadKey(kOtherPem), kSmMaster, loadKey(kCardPem));
  ASSERT_TRUE(fake);
  VirtualCard fakeCard(*fake);
  LocalChannel fakeChannel(fakeCard);
  CardReader reader(fakeChannel, issuer);
  EXPECT_EQ(reader.read().error(), CardError::NotAuthentic);
}

TEST_F(SessionTest, EditedIdFileIsNotAuthentic) {
  IdFile id = decodeIdFile(card.image().id).value();
  id.accountNumber = "ACC-9999-9999";  // signature kept from the real card
  card.image().id = encodeIdFile(id).value();
  CardReader reader(channel, issuer);
  EXPECT_EQ(reader.read().error(), CardError::NotAuthentic);
}

TEST_F(SessionTest, GarbledIdFileIsBadData) {
  card.image().id[5] ^= 0xFF;
  CardReader reader(channel, issuer);
  EXPECT_EQ(reader.read().error(), CardError::BadData);
}

TEST_F(SessionTest, WriteIsThreeApdusAndReadsBack) {
  CardReader reader(channel, issuer);
  ASSERT_TRUE(reader.read());
  const std::size_t before = channel.transmitted();
  const CreditToken token = mintedToken(1, 5000);
  auto challenge = reader.getChallenge();
  ASSERT_TRUE(challenge);
  const WriteScript script = scriptFor(token, *challenge);
  // Through its JSON form, as the cloud sends it.
  auto relayed = writeScriptFromJson(writeScriptToJson(script));
  ASSERT_TRUE(relayed);
  ASSERT_TRUE(reader.runScript(*relayed));
  EXPECT_EQ(channel.transmitted() - before, 3U);

  auto snapshot = reader.read();
  ASSERT_TRUE(snapshot);
  ASSERT_EQ(snapshot->credits.size(), 1U);
  EXPECT_EQ(snapshot->credits[0], token);
  EXPECT_EQ(snapshot->creditRecords[0], 1);
  EXPECT_EQ(snapshot->freeRecords, 7U);
}

TEST_F(SessionTest, WriteTokenChecksTheTokenIsOnTheCard) {
  CardReader reader(channel, issuer);
  ASSERT_TRUE(reader.read());
  const CreditToken token = mintedToken(1, 5000);
  auto challenge = reader.getChallenge();
  WriteScript script = scriptFor(token, *challenge);
  const std::size_t before = channel.transmitted();
  ASSERT_TRUE(reader.writeToken(script, token));
  EXPECT_EQ(channel.transmitted() - before, 2U);  // the script's read-back is enough

  // A script without a read-back: the kiosk reads CREDIT itself.
  const CreditToken second = mintedToken(2, 700);
  challenge = reader.getChallenge();
  script = scriptFor(second, *challenge);
  script.steps.pop_back();
  const std::size_t mark = channel.transmitted();
  ASSERT_TRUE(reader.writeToken(script, second));
  EXPECT_EQ(channel.transmitted() - mark, 2U);

  // A script that writes something else than the token the cloud said it minted.
  const CreditToken promised = mintedToken(3, 900);
  challenge = reader.getChallenge();
  script = scriptFor(mintedToken(3, 1), *challenge);
  script.steps.pop_back();
  EXPECT_EQ(reader.writeToken(script, promised).error(), CardError::BadData);
}

TEST_F(SessionTest, ScriptForAnotherChallengeIsRefusedAndWritesNothing) {
  CardReader reader(channel, issuer);
  ASSERT_TRUE(reader.read());
  ASSERT_TRUE(reader.getChallenge());
  const WriteScript script = scriptFor(mintedToken(1, 5000), hex("0102030405060708"));
  EXPECT_EQ(reader.runScript(script).error(), CardError::AccessDenied);
  EXPECT_EQ(card.image().credit[0], Bytes(32, 0));
  // A replay of an old script after a fresh challenge is refused too.
  auto challenge = reader.getChallenge();
  const WriteScript good = scriptFor(mintedToken(1, 5000), *challenge);
  ASSERT_TRUE(reader.runScript(good));
  ASSERT_TRUE(reader.getChallenge());
  const WriteScript again = scriptFor(mintedToken(2, 5000), *challenge);
  EXPECT_EQ(reader.runScript(again).error(), CardError::AccessDenied);
}

TEST_F(SessionTest, FullRingIsReported) {
  CardReader reader(channel, issuer);
  ASSERT_TRUE(reader.read());
  for (std::uint32_t seq = 1; seq <= 8; ++seq) {
    auto challenge = reader.getChallenge();
    ASSERT_TRUE(reader.runScript(scriptFor(mintedToken(seq, 100), *challenge)));
  }
  auto challenge = reader.getChallenge();
  EXPECT_EQ(reader.runScript(scriptFor(mintedToken(9, 100), *challenge)).error(),
            CardError::Full);
  EXPECT_EQ(reader.read()->credits.size(), 8U);
}

// What crosses a channel, in order: "begin", "end", and each APDU's instruction in hex.
class RecordingChannel : public CardChannel {
 public:
  explicit RecordingChannel(CardChannel& inner) : m_inner(inner) {}
  Result<Bytes, CardError> transmit(ByteView command) override {
    events.push_back(command.size() >= 2 ? toHex(command.subspan(1, 1)) : "?");
    return m_inner.transmit(command);
  }
  Result<void, CardError> beginTransaction() override {
    events.emplace_back("begin");
    return m_inner.beginTransaction();
  }
  Result<void, CardError> endTransaction() override {
    events.emplace_back("end");
    return m_inner.endTransaction();
  }
  Bytes atr() const override { return m_inner.atr(); }

  std::vector<std::string> events;

 private:
  CardChannel& m_inner;
};

using Events = std::vector<std::string>;

// GET CHALLENGE, UPDATE RECORD and the read-back run in one transaction, held open while the
// cloud builds the script; whatever happens, the transaction is ended exactly once.
TEST_F(SessionTest, WriteIsOneTransactionFromChallengeToReadBack) {
  RecordingChannel recording(channel);
  IdVerifier ids(issuer);
  {
    CardReader reader(recording, ids);
    ASSERT_TRUE(reader.read());
    recording.events.clear();
    auto challenge = reader.getChallenge();
    ASSERT_TRUE(challenge);
    EXPECT_EQ(recording.events, (Events{"begin", "84"}));  // still open for the script
    ASSERT_TRUE(reader.runScript(scriptFor(mintedToken(1, 5000), *challenge)));
    EXPECT_EQ(recording.events, (Events{"begin", "84", "DC", "B2", "end"}));

    recording.events.clear();
    challenge = reader.getChallenge();
    ASSERT_TRUE(reader.writeToken(scriptFor(mintedToken(2, 700), *challenge), mintedToken(2, 700)));
    EXPECT_EQ(recording.events, (Events{"begin", "84", "DC", "B2", "end"}));

    // The cloud failed: no script comes.
    recording.events.clear();
    ASSERT_TRUE(reader.getChallenge());
    reader.abandonWrite();
    reader.abandonWrite();
    EXPECT_EQ(recording.events, (Events{"begin", "84", "end"}));

    // A read instead of the script: it runs in the open transaction and ends it.
    recording.events.clear();
    ASSERT_TRUE(reader.getChallenge());
    ASSERT_TRUE(reader.read());
    EXPECT_EQ(recording.events, (Events{"begin", "84", "A4", "B0", "88", "B2", "B0", "end"}));

    // The card refuses the challenge: nothing is left open.
    recording.events.clear();
    ASSERT_TRUE(reader.getChallenge());
    ASSERT_TRUE(reader.getChallenge());  // a second challenge for the same write
    const WriteScript stale = scriptFor(mintedToken(3, 900), hex("0102030405060708"));
    EXPECT_EQ(reader.runScript(stale).error(), CardError::AccessDenied);
    EXPECT_EQ(recording.events, (Events{"begin", "84", "84", "DC", "end"}));

    // The kiosk's way: GET CHALLENGE alone, the script in a transaction of its own. A write
    // left open before it is ended first.
    recording.events.clear();
    ASSERT_TRUE(reader.getChallenge());
    challenge = reader.getChallenge(CardReader::HoldForScript::No);
    ASSERT_TRUE(challenge);
    EXPECT_EQ(recording.events, (Events{"begin", "84", "end", "84"}));
    recording.events.clear();
    ASSERT_TRUE(reader.runScript(scriptFor(mintedToken(4, 300), *challenge)));
    EXPECT_EQ(recording.events, (Events{"begin", "DC", "B2", "end"}));

    recording.events.clear();
    ASSERT_TRUE(reader.getChallenge());
  }
  // The reader went away with the write open.
  EXPECT_EQ(recording.events, (Events{"begin", "84", "end"}));

  // GET CHALLENGE refused (the application is not selected after a power cycle).
  channel.insert();
  recording.events.clear();
  CardReader fresh(recording, ids);
  EXPECT_EQ(fresh.getChallenge().error(), CardError::AccessDenied);
  EXPECT_EQ(recording.events, (Events{"begin", "84", "end"}));
  EXPECT_EQ(card.image().credit[2], Bytes(32, 0));
}

// Card pulled during the UPDATE, before or after it commits; then reinserted. The kiosk
// asks the card whether the token is there, rewrites if not, and in the end the card holds
// the token exactly once.
void tearAndRecover(SessionTest& t, TearPoint point, bool expectOnCard) {
  CardReader reader(t.channel, t.issuer);
  ASSERT_TRUE(reader.read());
  const CreditToken token = mintedToken(1, 5000);
  auto challenge = reader.getChallenge();
  ASSERT_TRUE(challenge);
  t.card.armTear(point, profile::kInsUpdateRecord);
  auto written = reader.runScript(t.scriptFor(token, *challenge));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error(), CardError::Removed);
  EXPECT_FALSE(t.channel.present());
  EXPECT_EQ(reader.tokenOnCard(token).error(), CardError::NoCard);

  t.channel.insert();
  auto onCard = reader.tokenOnCard(token);
  ASSERT_TRUE(onCard);
  EXPECT_EQ(*onCard, expectOnCard);
  if (!*onCard) {
    auto fresh = reader.getChallenge();
    ASSERT_TRUE(fresh);
    ASSERT_TRUE(reader.runScript(t.scriptFor(token, *fresh)));
  } else {
    // A rewrite anyway (the kiosk cannot always tell) is harmless.
    auto fresh = reader.getChallenge();
    ASSERT_TRUE(reader.runScript(t.scriptFor(token, *fresh)));
  }
  auto snapshot = reader.read();
  ASSERT_TRUE(snapshot);
  ASSERT_EQ(snapshot->credits.size(), 1U);
  EXPECT_EQ(snapshot->credits[0], token);
}

TEST_F(SessionTest, TearBeforeCommitThenReinsertNoLoss) {
  tearAndRecover(*this, TearPoint::BeforeCommit, false);
}

TEST_F(SessionTest, TearAfterCommitThenReinsertNoDouble) {
  tearAndRecover(*this, TearPoint::AfterCommit, true);
}

TEST_F(SessionTest, RemovedCardBeforeReadIsNoCard) {
  channel.remove();
  CardReader reader(channel, issuer);
  EXPECT_EQ(reader.read().error(), CardError::NoCard);
}

// A card whose CREDIT file cannot be read: the read's later APDUs fail while the signature
// checks still run on the reader's worker thread.
class CreditRefusingCard : public CardEmulator {
 public:
  explicit CreditRefusingCard(CardImage image) : m_card(std::move(image)) {}
  Bytes atr() const override { return m_card.atr(); }
  void powerOn() override { m_card.powerOn(); }
  void powerOff() override { m_card.powerOff(); }
  Bytes process(ByteView command) override {
    if (command.size() >= 2 && command[1] == profile::kInsReadRecord) {
      return encodeResponse(sw::kFileNotFound);
    }
    return m_card.process(command);
  }

 private:
  VirtualCard m_card;
};

TEST_F(SessionTest, AFailedSignatureCheckWinsOverALaterFailingApdu) {
  // The genuine card: the CREDIT refusal itself is what the read reports.
  CreditRefusingCard genuine(card.image());
  LocalChannel genuineChannel(genuine);
  CardReader genuineReader(genuineChannel, issuer);
  auto snapshot = genuineReader.read();
  ASSERT_FALSE(snapshot);
  EXPECT_NE(snapshot.error(), CardError::NotAuthentic);

  // A clone (the ID file copied, another key): its signature fails, and that is the answer.
  CardImage copy = card.image();
  copy.cardPrivateKey = loadKey(kOtherPem).privateScalar();
  CreditRefusingCard clone(copy);
  LocalChannel cloneChannel(clone);
  CardReader cloneReader(cloneChannel, issuer);
  snapshot = cloneReader.read();
  ASSERT_FALSE(snapshot);
  EXPECT_EQ(snapshot.error(), CardError::NotAuthentic);
}

}  // namespace
}  // namespace kiosk::card
