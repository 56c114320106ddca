#pragma once
// The whole kiosk against real parts, for the e2e tests: a kiosk-cloud process seeded with the
// demo data, virtual cards issued by it and served through vpcd into a private pcscd, and the
// kiosk runtime (journal, engine, flow) either in this process or as the real `kiosk
// --headless` binary. Checks compare the card, the journal and the cloud's reconciliation.

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/cloud_fixture.hpp"
#include "tests/support/pcscd_server.hpp"
#include "card/virtual_card.hpp"
#include "card/vpcd/vpcd_link.hpp"
#include "kiosk/runtime.hpp"
#include "kiosk/sim/network_link.hpp"

namespace kiosk::e2e {

using nlohmann::json;
using namespace std::chrono_literals;
using Proxy = sim::NetworkLink;

inline constexpr const char* kWaterCard = "8800000003";  // CREDIT_ONLY: all of an amount is credit
inline constexpr const char* kFeesCard = "8800000001";   // FEES_FIRST with 35.00 owed
inline constexpr const char* kKiosk = "kiosk-demo";

// A virtual card in vpcd's first slot; its card file follows every committed write, as a real
// chip keeps its EEPROM.
class CardSlot {
 public:
  CardSlot(card::test::PcscdServer& server, std::filesystem::path file);
  ~CardSlot();
  void insert();
  void pull();
  // Pulls the card when the APDU `ahead` APDUs from now arrives (0: the next one).
  void tearAhead(std::uint64_t ahead, card::VpcdLink::TearPoint point);
  bool waitTorn(std::chrono::milliseconds timeout) const;
  bool torn() const { return m_link && m_link->torn(); }
  // A slow card: while held, the card answers no APDU (the reader's caller waits); released,
  // it answers them in order.
  void hold();
  void release();
  // Whether an APDU is waiting on the hold right now.
  bool holding() const;
  const std::filesystem::path& file() const { return m_file; }
  card::CardImage image() const;

 private:
  card::test::PcscdServer& m_server;
  std::filesystem::path m_file;
  class HeldCard;
  std::unique_ptr<card::VirtualCard> m_card;
  std::unique_ptr<HeldCard> m_held;
  std::unique_ptr<card::VpcdLink> m_link;
};

class Harness {
 public:
  struct Options {
    std::int64_t orderTtlSeconds = 300;
    bool proxy = true;  // the kiosk reaches the cloud through a proxy that can cut calls
  };
  explicit Harness(Options options);
  Harness() : Harness(Options{}) {}
  ~Harness();

  // A fresh card file for one of the demo cards (the cloud issues it).
  std::filesystem::path issue(const std::string& cardNumber);
  // The meter's write-back on the card: what a meter would have written after using power.
  void meterWrote(const std::filesystem::path& cardFile, std::int64_t remaining,
                  std::uint64_t consumption);
  cloud::test::CloudProcess& cloud() { return *m_cloud; }
  Proxy& proxy() { return *m_proxy; }
  std::string kioskUrl() const;  // what the kiosk talks to (the proxy, or the cloud)
  const std::filesystem::path& dir() const { return m_dir; }
  std::filesystem::path journalFile() const { return m_dir / "journal.sqlite"; }
  std::filesystem::path secretFile() const { return m_dir / "kiosk.secret"; }
  card::test::PcscdServer& pcscd() { return card::test::PcscdServer::instance(); }

  // An in-process kiosk on vpcd's first reader.
  std::unique_ptr<app::Runtime> kiosk(payments::EngineOptions engine = fastEngine(),
                                      app::FlowConfig flow = {});
  // Another kiosk, registered at the cloud, with a journal of its own.
  struct OtherKiosk {
    std::string id;
    std::string secret;
    std::filesystem::path journal;
  };
  OtherKiosk registerKiosk(const std::string& id);
  std::unique_ptr<app::Runtime> kiosk(const OtherKiosk& other, payments::EngineOptions engine = fastEngine(),
                                      app::FlowConfig flow = {});
  static payments::EngineOptions fastEngine();

  // The simulated payer: Pay or Decline on the order's pay page.
  void pay(const std::string& orderId, const std::string& action = "pay");
  // The provider's signed notification that the order was paid, whatever its state: a wallet
  // that took the money as the kiosk gave up.
  void notifyPaid(const std::string& orderId, std::int64_t amount);
  json admin(const std::string& target);
  json reconciliation() { return admin("/v1/admin/reconciliation"); }
  json orders() { return admin("/v1/admin/orders?limit=1000"); }
  std::string orderState(const std::string& orderId);

 private:
  std::filesystem::path m_dir;
  std::unique_ptr<cloud::test::CloudProcess> m_cloud;
  std::unique_ptr<Proxy> m_proxy;
};

// What the card holds: every token on it (CREDIT records), by sequence.
std::vector<card::CreditToken> tokensOn(const card::CardImage& image);

// The kiosk's journal as an auditor reads it: a connection of its own to the kiosk's file
// (the runtime hands out none of its parts). Fails the test when it cannot be opened.
std::unique_ptr<payments::Journal> journalOf(const app::Runtime& kiosk);

// The invariants after any scenario: every paid order's credit is on the card exactly once or
// still pending for it at the cloud, nothing was minted twice, no order was delivered by two
// kiosks, the journals agree with the cloud, and the cloud's reconciliation balances and counts
// the tokens the journals delivered. Returns a description of every violation (empty: ok).
std::vector<std::string> checkBooks(Harness& harness, const card::CardImage& card,
                                    const std::vector<payments::Journal*>& journals,
                                    const std::string& cardNumber);
inline std::vector<std::string> checkBooks(Harness& harness, const card::CardImage& card,
                                           payments::Journal& journal, const std::string& cardNumber) {
  return checkBooks(harness, card, std::vector<payments::Journal*>{&journal}, cardNumber);
}

// The outbox as the cloud received it: every event the cloud acknowledged to the kiosk is in
// the cloud's journal under the same sequence, type, time and data, sequences run 1, 2, 3...
// with no gap, and the cloud holds none the kiosk did not send. Reads both SQLite files.
std::vector<std::string> checkOutbox(Harness& harness, const std::filesystem::path& journalFile,
                                     const std::string& kioskId = kKiosk);

// The events of one type the cloud received from a kiosk, in sequence order (data parsed).
std::vector<json> cloudEvents(Harness& harness, const std::string& type,
                              const std::string& kioskId = kKiosk);

}  // namespace kiosk::e2e
