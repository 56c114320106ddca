#include "harness.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

namespace kiosk::e2e {

using cloud::test::CloudProcess;

CardSlot::CardSlot(card::test::PcscdServer& server, std::filesystem::path file)
    : m_server(server), m_file(std::move(file)) {}

CardSlot::~CardSlot() { pull(); }

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
  m_link = std::make_unique<card::VpcdLink>(*m_card, m_server.link(0));
  m_link->insert();
  if (!m_link->waitConnected(5s)) throw std::runtime_error("the card did not reach vpcd");
}

void CardSlot::pull() {
  if (m_link) m_link->pull();
  m_link.reset();
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
  m_dir = cloud::test::makeTempDir("kiosk-e2e-");
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

void Harness::pay(const std::string& orderId, const std::string& action) {
  auto reply = cloud::test::pressPayButton(m_cloud->port(), orderId, action);
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

std::vector<std::string> checkBooks(Harness& harness, const card::CardImage& image,
                                    payments::Journal& journal, const std::string& cardNumber) {
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

  std::map<std::string, payments::TxRecord> journaled;
  if (auto all = journal.all()) {
    for (const auto& tx : *all) {
      if (!tx.orderId.empty()) journaled[tx.orderId] = tx;
    }
  } else {
    problems.push_back("journal unreadable");
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
  return problems;
}

}  // namespace kiosk::e2e
