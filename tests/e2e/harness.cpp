#include "harness.hpp"

#include "platform/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <map>
#include <set>

namespace kiosk::e2e {

using cloud::test::CloudProcess;

// The virtual card behind a gate: process() waits while the slot holds the card.
class CardSlot::HeldCard final : public card::CardEmulator {
 public:
  explicit HeldCard(card::CardEmulator& card) : m_card(card) {}
  Bytes atr() const override { return m_card.atr(); }
  void powerOn() override { m_card.powerOn(); }
  void powerOff() override { m_card.powerOff(); }
  Bytes process(ByteView command) override {
    {
      std::unique_lock lock(m_mutex);
      if (m_held) {
        m_waiting = true;
        m_changed.wait(lock, [this] { return !m_held; });
        m_waiting = false;
      }
    }
    return m_card.process(command);
  }
  void set(bool held) {
    {
      std::lock_guard lock(m_mutex);
      m_held = held;
    }
    m_changed.notify_all();
  }
  bool waiting() const {
    std::lock_guard lock(m_mutex);
    return m_waiting;
  }

 private:
  card::CardEmulator& m_card;
  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  bool m_held = false;
  bool m_waiting = false;
};

CardSlot::CardSlot(card::test::PcscdServer& server, std::filesystem::path file)
    : m_server(server), m_file(std::move(file)) {}

CardSlot::~CardSlot() { pull(); }

void CardSlot::hold() {
  if (m_held) m_held->set(true);
}

void CardSlot::release() {
  if (m_held) m_held->set(false);
}

bool CardSlot::holding() const { return m_held && m_held->waiting(); }

void CardSlot::insert() {
  pull();
  auto image = card::loadCardFile(m_file);
  if (!image) throw std::runtime_error("cannot load card file " + m_file.string());
  // pcscd must see the slot empty first, or it takes the new insertion for the old card.
  (void)m_server.waitCard(0, false, 5s);
  m_card = std::make_unique<card::VirtualCard>(*image);
  m_card->onCommit([file = m_file](const card::CardImage& committed) {
    (void)card::saveCardFile(file, committed);
  });
  m_held = std::make_unique<HeldCard>(*m_card);
  m_link = std::make_unique<card::VpcdLink>(*m_held, m_server.link(0));
  m_link->insert();
  if (!m_link->waitConnected(5s)) throw std::runtime_error("the card did not reach vpcd");
}

void CardSlot::pull() {
  release();
  if (m_link) m_link->pull();
  m_link.reset();
  m_held.reset();
  m_card.reset();
}

void CardSlot::tearAhead(std::uint64_t ahead, card::VpcdLink::TearPoint point) {
  m_link->tearAt(m_link->apdus() + ahead, point);
}

bool CardSlot::waitTorn(std::chrono::milliseconds timeout) const {
  return m_link && m_link->waitTorn(timeout);
}

card::CardImage CardSlot::image() const {
  auto image = card::loadCardFile(m_file);
  return image ? *image : card::CardImage{};
}

// ---------------------------------------------------------------------------------------

Harness::Harness(Options options) {
  m_dir = platform::makeTempDir("kiosk-e2e-");
  CloudProcess::Options cloudOptions;
  cloudOptions.orderTtlSeconds = options.orderTtlSeconds;
  cloudOptions.sweepIntervalMs = 200;
  std::filesystem::create_directories(m_dir / "cloud");
  m_cloud = std::make_unique<CloudProcess>(cloudOptions, m_dir / "cloud");
  m_cloud->seedDemo();
  if (options.proxy) m_proxy = std::make_unique<Proxy>(m_cloud->port());
  std::ofstream(secretFile()) << CloudProcess::kKioskSecret << "\n";
  pcscd().start();
}

Harness::~Harness() {
  m_proxy.reset();
  m_cloud.reset();
  std::error_code ignored;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(m_dir, ignored);
}

std::string Harness::kioskUrl() const {
  return "http://127.0.0.1:" + std::to_string(m_proxy ? m_proxy->port() : m_cloud->port());
}

std::filesystem::path Harness::issue(const std::string& cardNumber) {
  const auto out = m_dir / "cards";
  auto [rc, output] = m_cloud->runTool({"issue-card", "--card", cardNumber, "--out", out.string()});
  if (rc != 0) throw std::runtime_error("issue-card failed: " + output);
  return out / ("card-" + cardNumber + ".json");
}

void Harness::meterWrote(const std::filesystem::path& cardFile, std::int64_t remaining,
                         std::uint64_t consumption) {
  auto image = card::loadCardFile(cardFile);
  ASSERT_TRUE(image);
  auto id = card::decodeIdFile(image->id);
  ASSERT_TRUE(id);
  card::ReturnRecord record;
  record.utility = id->utility;
  record.keyVersion = 1;
  record.meterNumber = id->meterNumber;
  record.remainingCredit = remaining;
  record.consumption = consumption;
  record.timestamp = std::time(nullptr) - 3600;
  card::sealReturn(record, card::deriveReturnKey(m_cloud->vendingKey(), id->meterNumber, 1));
  image->meterReturn = card::encodeReturn(record);
  ASSERT_TRUE(card::saveCardFile(cardFile, *image));
}

payments::EngineOptions Harness::fastEngine() {
  payments::EngineOptions options;
  options.longPoll = std::chrono::seconds(5);
  options.paymentGrace = std::chrono::seconds(5);
  options.retryInitial = std::chrono::milliseconds(100);
  options.retryMax = std::chrono::milliseconds(800);
  options.writeWindow = std::chrono::seconds(8);
  options.syncInterval = std::chrono::milliseconds(500);
  options.recheckInterval = std::chrono::seconds(1);
  return options;
}

std::unique_ptr<app::Runtime> Harness::kiosk(payments::EngineOptions engine, app::FlowConfig flow) {
  app::RuntimeOptions options;
  options.cloudUrl = kioskUrl();
  options.kioskId = kKiosk;
  options.secret = CloudProcess::kKioskSecret;
  options.journal = journalFile();
  options.issuerKey = m_cloud->issuerKeyFile();
  options.reader = pcscd().reader(0);
  options.engine = engine;
  options.flow = flow;
  auto runtime = app::Runtime::create(options);
  if (!runtime) throw std::runtime_error("kiosk runtime: " + runtime.error());
  (*runtime)->start();
  return std::move(*runtime);
}

Harness::OtherKiosk Harness::registerKiosk(const std::string& id) {
  OtherKiosk other;
  other.id = id;
  other.secret = "secret-of-" + id + "-0123456789abcdef0123456789";
  other.journal = m_dir / ("journal-" + id + ".sqlite");
  auto created = cloud::test::AdminClient(m_cloud->port())
                     .post("/v1/admin/kiosks", {{"id", id},
                                                {"secret", other.secret},
                                                {"location", "Building B lobby"},
                                                {"building", "B"}});
  if (created.status != 201) throw std::runtime_error("cannot register kiosk " + id + ": " + created.text);
  return other;
}

std::unique_ptr<app::Runtime> Harness::kiosk(const OtherKiosk& other, payments::EngineOptions engine,
                                             app::FlowConfig flow) {
  app::RuntimeOptions options;
  options.cloudUrl = kioskUrl();
  options.kioskId = other.id;
  options.secret = other.secret;
  options.journal = other.journal;
  options.issuerKey = m_cloud->issuerKeyFile();
  options.reader = pcscd().reader(0);
  options.engine = engine;
  options.flow = flow;
  auto runtime = app::Runtime::create(options);
  if (!runtime) throw std::runtime_error("kiosk runtime: " + runtime.error());
  (*runtime)->start();
  return std::move(*runtime);
}

void Harness::pay(const std::string& orderId, const std::string& action) {
  auto reply = cloud::test::pressPayButton(m_cloud->port(), orderId, action);
  ASSERT_EQ(reply.status, 200) << reply.text;
}

void Harness::notifyPaid(const std::string& orderId, std::int64_t amount) {
  auto reply = cloud::test::notifyPaid(m_cloud->port(), orderId, amount);
  ASSERT_EQ(reply.status, 200) << reply.text;
}

json Harness::admin(const std::string& target) {
  cloud::test::AdminClient admin(m_cloud->port());
  auto reply = admin.get(target);
  EXPECT_EQ(reply.status, 200) << target << ": " << reply.text;
  return reply.body;
}

std::string Harness::orderState(const std::string& orderId) {
  const json all = orders();
  for (const auto& order : all["orders"]) {
    if (order.value("order_id", "") == orderId) return order.value("state", "");
  }
  return "";
}

std::vector<card::CreditToken> tokensOn(const card::CardImage& image) {
  std::vector<card::CreditToken> tokens;
  for (const auto& record : image.credit) {
    auto token = card::decodeTokenRecord(record);
    if (token && token->has_value()) tokens.push_back(**token);
  }
  return tokens;
}

std::unique_ptr<payments::Journal> journalOf(const app::Runtime& kiosk) {
  auto journal = payments::Journal::open(kiosk.journalPath());
  if (!journal) {
    ADD_FAILURE() << "cannot open the journal " << kiosk.journalPath();
    return nullptr;
  }
  return std::move(*journal);
}

std::vector<std::string> checkBooks(Harness& harness, const card::CardImage& image,
                                    const std::vector<payments::Journal*>& journals,
                                    const std::string& cardNumber) {
  std::vector<std::string> problems;
  const json orders = harness.orders()["orders"];
  const auto tokens = tokensOn(image);
  const auto meter = [&] {
    auto id = card::decodeIdFile(image.id);
    return id ? id->meterNumber : 0;
  }();

  // Sequences on the card: each at most once (the ring cannot hold a duplicate, but two
  // tokens for one order would show as two sequences with one order's credit each).
  std::map<std::uint32_t, std::uint32_t> onCard;
  for (const auto& token : tokens) {
    if (token.meterNumber != meter) problems.push_back("a token for another meter is on the card");
    onCard[token.sequence] = token.amount;
  }

  // Each order as the kiosks journaled it; the delivering kiosk's record wins.
  std::map<std::string, payments::TxRecord> journaled;
  std::map<std::string, int> deliveredBy;
  std::map<std::string, std::int64_t> tokenOf;
  std::int64_t deliveredCount = 0;
  std::int64_t deliveredAmount = 0;
  for (auto* journal : journals) {
    auto all = journal->all();
    if (!all) {
      problems.push_back("journal unreadable");
      continue;
    }
    for (const auto& tx : *all) {
      if (tx.orderId.empty()) continue;
      if (tx.tokenSeq != 0) {
        // One order, one token, whichever kiosk fetched it.
        const auto [known, first] = tokenOf.emplace(tx.orderId, tx.tokenSeq);
        if (!first && known->second != tx.tokenSeq) {
          problems.push_back(tx.orderId + " has two tokens in the journals");
        }
      }
      if (tx.outcome == payments::Outcome::Delivered) {
        ++deliveredBy[tx.orderId];
        if (tx.tokenSeq != 0) {
          ++deliveredCount;
          deliveredAmount += tx.credit;
        }
      }
      const auto [entry, inserted] = journaled.emplace(tx.orderId, tx);
      if (!inserted && tx.outcome == payments::Outcome::Delivered) entry->second = tx;
    }
  }
  for (const auto& [order, kiosks] : deliveredBy) {
    if (kiosks > 1) problems.push_back(order + " was delivered by " + std::to_string(kiosks) + " kiosks");
  }

  std::set<std::uint32_t> accounted;
  for (const auto& order : orders) {
    if (order.value("card_number", "") != cardNumber) continue;
    const std::string id = order.value("order_id", "");
    const std::string state = order.value("state", "");
    const std::int64_t credit = order["split"].value("credit", std::int64_t{0});
    const auto tx = journaled.find(id);
    if (state == "DELIVERED" && credit > 0) {
      // Delivered: its token is on the card (none of these tests run the meter).
      if (tx == journaled.end() || tx->second.tokenSeq == 0) {
        problems.push_back(id + " is DELIVERED but the journal has no token for it");
        continue;
      }
      const auto seq = static_cast<std::uint32_t>(tx->second.tokenSeq);
      if (onCard.count(seq) == 0) problems.push_back(id + " is DELIVERED but its token is not on the card");
      else if (onCard[seq] != credit) problems.push_back(id + " token amount differs from its credit");
      if (!accounted.insert(seq).second) problems.push_back(id + " shares a token sequence");
      if (tx->second.outcome != payments::Outcome::Delivered) {
        problems.push_back(id + " is DELIVERED at the cloud but not in the journal (" +
                           std::string(payments::toString(tx->second.outcome)) + ")");
      }
    } else if (state == "PAID" || state == "TOKEN_ISSUED") {
      // Still pending for the card: then it must not be on it... unless the confirmation is
      // what is missing, which the journal must show as an open transaction.
      if (tx != journaled.end() && tx->second.tokenSeq != 0 &&
          onCard.count(static_cast<std::uint32_t>(tx->second.tokenSeq)) != 0) {
        if (!tx->second.open()) problems.push_back(id + " is on the card, closed locally, but not DELIVERED");
        accounted.insert(static_cast<std::uint32_t>(tx->second.tokenSeq));
      }
    } else if (tx != journaled.end() && tx->second.outcome == payments::Outcome::Delivered) {
      problems.push_back(id + " is delivered in the journal but " + state + " at the cloud");
    }
  }
  for (const auto& [seq, amount] : onCard) {
    if (accounted.count(seq) == 0) {
      problems.push_back("token #" + std::to_string(seq) + " on the card belongs to no paid order");
    }
  }
  const json report = harness.reconciliation();
  if (!report.value("balanced", false)) problems.push_back("reconciliation unbalanced: " + report.dump());
  // The report's token counts are the journals' own: every token the cloud minted was
  // journaled before it could reach a card, and every delivery the cloud counts is one a
  // journal confirmed.
  const json& issued = report["tokens"]["issued"];
  const json& delivered = report["tokens"]["delivered"];
  if (issued.value("count", std::int64_t{-1}) != static_cast<std::int64_t>(tokenOf.size())) {
    problems.push_back("the cloud issued " + issued.dump() + " tokens, the journals hold " +
                       std::to_string(tokenOf.size()));
  }
  if (delivered.value("count", std::int64_t{-1}) != deliveredCount ||
      delivered.value("amount", std::int64_t{-1}) != deliveredAmount) {
    problems.push_back("the cloud counts " + delivered.dump() + " delivered, the journals " +
                       std::to_string(deliveredCount) + " tokens worth " + std::to_string(deliveredAmount));
  }
  return problems;
}

namespace {

// A read-only connection to a SQLite file that another process may be writing (WAL).
class ReadOnlyDb {
 public:
  explicit ReadOnlyDb(const std::filesystem::path& file) {
    if (sqlite3_open_v2(file.c_str(), &m_db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(m_db);
      m_db = nullptr;
    }
    if (m_db != nullptr) sqlite3_busy_timeout(m_db, 5000);
  }
  ~ReadOnlyDb() { sqlite3_close(m_db); }
  ReadOnlyDb(const ReadOnlyDb&) = delete;
  ReadOnlyDb& operator=(const ReadOnlyDb&) = delete;
  explicit operator bool() const { return m_db != nullptr; }

  // Rows of text columns; nullopt when the query fails.
  std::optional<std::vector<std::vector<std::string>>> rows(const std::string& sql,
                                                            const std::string& bind = {}) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return std::nullopt;
    if (!bind.empty()) sqlite3_bind_text(stmt, 1, bind.c_str(), -1, SQLITE_TRANSIENT);
    std::vector<std::vector<std::string>> out;
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const auto* text = sqlite3_column_text(stmt, i);
        row.emplace_back(text == nullptr ? "" : reinterpret_cast<const char*>(text));
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return std::nullopt;
    return out;
  }

 private:
  sqlite3* m_db = nullptr;
};

std::filesystem::path cloudDatabaseFile(Harness& harness) {
  const std::string url = harness.cloud().database();
  const std::string prefix = "sqlite://";
  return url.starts_with(prefix) ? std::filesystem::path(url.substr(prefix.size())) : std::filesystem::path{};
}

}  // namespace

std::vector<std::string> checkOutbox(Harness& harness, const std::filesystem::path& journalFile,
                                     const std::string& kioskId) {
  std::vector<std::string> problems;
  ReadOnlyDb local(journalFile);
  ReadOnlyDb cloud(cloudDatabaseFile(harness));
  if (!local || !cloud) return {"cannot open the journal or the cloud's database"};
  const auto acked = local.rows("SELECT value FROM meta WHERE key = 'acked_seq'");
  const auto sent = local.rows("SELECT seq, type, at, data FROM outbox ORDER BY seq");
  const auto received = cloud.rows(
      "SELECT seq, type, at, payload FROM journal_events WHERE kiosk_id = ?1 ORDER BY seq", kioskId);
  if (!acked || !sent || !received) return {"cannot read the outbox or the cloud's journal"};
  const std::int64_t ackedSeq = acked->empty() ? 0 : std::stoll((*acked)[0][0]);
  std::map<std::int64_t, std::vector<std::string>> kiosk;
  for (const auto& row : *sent) kiosk[std::stoll(row[0])] = row;
  std::int64_t expected = 1;
  for (const auto& row : *received) {
    const std::int64_t seq = std::stoll(row[0]);
    if (seq != expected) problems.push_back("the cloud's journal jumps from " + std::to_string(expected - 1) +
                                            " to " + std::to_string(seq));
    expected = seq + 1;
    const auto mine = kiosk.find(seq);
    if (mine == kiosk.end()) {
      problems.push_back("the cloud holds event " + std::to_string(seq) + " the kiosk never recorded");
      continue;
    }
    const auto& m = mine->second;
    if (m[1] != row[1] || m[2] != row[2] ||
        json::parse(m[3], nullptr, false) != json::parse(row[3], nullptr, false)) {
      problems.push_back("event " + std::to_string(seq) + " differs: kiosk " + m[1] + " " + m[3] +
                         ", cloud " + row[1] + " " + row[3]);
    }
  }
  const std::int64_t last = received->empty() ? 0 : std::stoll(received->back()[0]);
  if (last < ackedSeq) {
    problems.push_back("the kiosk holds events up to " + std::to_string(ackedSeq) +
                       " as acknowledged, the cloud only up to " + std::to_string(last));
  }
  return problems;
}

std::vector<json> cloudEvents(Harness& harness, const std::string& type, const std::string& kioskId) {
  std::vector<json> out;
  ReadOnlyDb cloud(cloudDatabaseFile(harness));
  if (!cloud) return out;
  const auto rows = cloud.rows(
      "SELECT type, payload FROM journal_events WHERE kiosk_id = ?1 ORDER BY seq", kioskId);
  if (!rows) return out;
  for (const auto& row : *rows) {
    if (row[0] == type) out.push_back(json::parse(row[1], nullptr, false));
  }
  return out;
}

}  // namespace kiosk::e2e
