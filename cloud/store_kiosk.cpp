#include "cloud/store_sql.hpp"
#include "protocol/limits.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>

// What kiosks read and send besides orders: authentication and nonces, card lookup, journal
// events, meter readings and their configuration.

namespace kiosk::cloud {
namespace {

using namespace sql;
namespace limits = protocol::limits;

CloudResult<std::vector<FeeOwed>> feesOwed(SqlConnection& conn, const std::string& accountId) {
  KIOSK_TRY(rows, run(conn,
                      "SELECT id, item, description, amount - paid FROM fees WHERE "
                      "account_id = $1 AND amount > paid ORDER BY created_at, id LIMIT " +
                          std::to_string(limits::kMaxFeesOwed),
                      {accountId}));
  std::vector<FeeOwed> fees;
  for (const auto& row : rows->rows) {
    fees.push_back({row.text(0), row.text(1), row.text(2), row.integer(3)});
  }
  return fees;
}

// The schema's CHECK keeps order states known; a row that is not is reported, never guessed.
CloudResult<protocol::OrderState> storedState(const std::string& text) {
  const auto state = protocol::orderStateFromString(text);
  if (!state) return failWith(CloudError::Internal, "order state '" + text + "' is not known");
  return *state;
}

// Every kiosk's refresh would repeat it: at most once in ten minutes per process.
void warnUnlisted(std::int64_t total) {
  static std::atomic<std::int64_t> lastWarned{0};
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  std::int64_t last = lastWarned.load();
  if (last != 0 && now - last < 600) return;
  if (!lastWarned.compare_exchange_strong(last, now)) return;
  spdlog::warn("{} cards are blocked or lost; kiosk configurations list the {} most recent, the "
               "rest are refused online only",
               total, limits::kMaxBlockedCards);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Kiosk authentication

CloudResult<KioskAuth> Store::kioskAuth(const std::string& kioskId) {
  KIOSK_TRY(rows, runOnce(m_db, "SELECT secret, status FROM kiosks WHERE id = $1", {kioskId}));
  if (rows->rows.empty()) return failWith(CloudError::UnknownKiosk, "unknown kiosk " + kioskId);
  return KioskAuth{rows->rows[0].text(0), rows->rows[0].text(1)};
}

CloudResult<bool> Store::rememberNonce(const std::string& kioskId, const std::string& nonce,
                                       std::int64_t now) {
  // The primary key makes this the one place that decides, across every server process.
  KIOSK_TRY(rows, writeOnce(m_db, kRememberNonce, {kioskId, nonce, now}));
  return rows->affected == 1;
}

CloudResult<std::int64_t> Store::purgeNonces(std::int64_t olderThan) {
  KIOSK_TRY(rows, writeOnce(m_db, "DELETE FROM nonces WHERE seen_at < $1", {olderThan}));
  return rows->affected;
}

// ---------------------------------------------------------------------------------------
// Card lookup

CloudResult<CardSummary> Store::cardSummary(const std::string& cardNumber, std::int64_t now) {
  auto lease = m_db.acquire();
  auto& conn = *lease;
  KIOSK_TRY(cards, run(conn,
                       "SELECT c.number, c.kind, c.status, c.account_id, c.meter_number, "
                       "a.resident, a.building, a.room, a.household, a.status, a.fee_policy, "
                       "m.utility, m.tariff_id, m.key_version, m.status "
                       "FROM cards c LEFT JOIN accounts a ON a.id = c.account_id "
                       "LEFT JOIN meters m ON m.number = c.meter_number WHERE c.number = $1",
                       {cardNumber}));
  if (cards->rows.empty()) return failWith(CloudError::UnknownCard, "unknown card " + cardNumber);
  const auto& row = cards->rows[0];
  const std::string status = row.text(2);
  if (status == "BLOCKED") return failWith(CloudError::CardBlocked, "card is blocked");
  if (status == "LOST") return failWith(CloudError::CardLost, "card was reported lost");
  CardSummary out;
  out.card = {row.text(0), row.text(1), status};
  if (row.text(1) == "staff") return out;
  const std::string accountId = row.text(3);
  const std::string meter = row.text(4);
  if (row.text(9) == "BLOCKED") return failWith(CloudError::CardBlocked, "account is blocked");
  if (row.text(14) == "BLOCKED") return failWith(CloudError::CardBlocked, "meter is blocked");
  out.account = CardSummary::Account{accountId,    row.text(5), row.text(6),
                                     row.text(7),  row.text(8), row.text(10)};
  out.meter = CardSummary::Meter{meter, row.text(11), row.text(12), row.integer(13), {}};
  KIOSK_TRY(reading, run(conn,
                         "SELECT reading_at, remaining, consumption, flags, last_sequence "
                         "FROM meter_readings WHERE meter_number = $1 ORDER BY reading_at DESC LIMIT 1",
                         {meter}));
  if (!reading->rows.empty()) {
    const auto& r = reading->rows[0];
    out.meter->lastReading =
        CardSummary::Reading{r.integer(0), r.integer(1), r.integer(2), r.integer(3), r.integer(4)};
  }
  KIOSK_TRY(fees, feesOwed(conn, accountId));
  out.fees = std::move(*fees);
  // Credit paid for but not yet on the card, from any kiosk: written at this insertion.
  KIOSK_TRY(pending, run(conn,
                         std::string("SELECT ") + kOrderColumns +
                             " FROM orders WHERE meter_number = $1 AND card_number = $2 AND state IN "
                             "('PAID', 'TOKEN_ISSUED') AND credit_amount > 0 ORDER BY created_at LIMIT " +
                             std::to_string(limits::kMaxOrderList),
                         {meter, cardNumber}));
  for (const auto& p : pending->rows) {
    const Order o = orderFromRow(p);
    KIOSK_TRY(state, storedState(o.state));
    out.pending.push_back({o.id, o.creditAmount, *state});
  }
  KIOSK_TRY(recent, run(conn,
                        "SELECT id, amount, credit_amount, state, created_at FROM orders WHERE "
                        "account_id = $1 AND paid_at IS NOT NULL ORDER BY created_at DESC LIMIT 5",
                        {accountId}));
  for (const auto& r : recent->rows) {
    KIOSK_TRY(state, storedState(r.text(3)));
    out.recent.push_back({r.text(0), r.integer(1), r.integer(2), *state, r.integer(4)});
  }
  (void)now;
  return out;
}

// ---------------------------------------------------------------------------------------
// Journal, readings and configuration

CloudResult<Store::JournalResult> Store::appendJournal(const std::string& kioskId,
                                                       const std::vector<JournalEvent>& events,
                                                       std::int64_t now) {
  return transact<JournalResult>(m_db, [&](SqlConnection& conn) -> CloudResult<JournalResult> {
    JournalResult result;
    for (const auto& event : events) {
      KIOSK_TRY(inserted, run(conn,
                              "INSERT INTO journal_events (kiosk_id, seq, type, at, payload, "
                              "received_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                              {kioskId, event.seq, event.type, event.at, event.payload, now}));
      if (inserted->affected == 1) {
        ++result.accepted;
      } else {
        ++result.duplicates;
      }
    }
    return result;
  });
}

CloudResult<std::int64_t> Store::meterKeyVersion(const std::string& meterNumber) {
  KIOSK_TRY(rows, runOnce(m_db, "SELECT key_version FROM meters WHERE number = $1", {meterNumber}));
  if (rows->rows.empty()) return failWith(CloudError::NotFound, "unknown meter " + meterNumber);
  return rows->rows[0].integer(0);
}

CloudResult<Store::ReadingResult> Store::recordReading(const std::string& kioskId,
                                                       const std::string& cardNumber,
                                                       const MeterReturn& reading,
                                                       std::int64_t now) {
  return transact<ReadingResult>(m_db, [&](SqlConnection& conn) -> CloudResult<ReadingResult> {
    KIOSK_TRY(card, run(conn, "SELECT meter_number FROM cards WHERE number = $1", {cardNumber}));
    if (card->rows.empty()) return failWith(CloudError::UnknownCard, "unknown card");
    if (card->rows[0].text(0) != reading.meterNumber) {
      return failWith(CloudError::BadReturnData, "RETURN data is from another meter");
    }
    ReadingResult result;
    KIOSK_TRY(inserted,
              run(conn,
                  "INSERT INTO meter_readings (meter_number, reading_at, card_number, kiosk_id, "
                  "last_sequence, remaining, consumption, flags, received_at) VALUES ($1, $2, $3, "
                  "$4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                  {reading.meterNumber, reading.timestamp, cardNumber, kioskId, reading.lastSequence,
                   reading.remaining, reading.consumption, reading.flags, now}));
    result.stored = inserted->affected == 1;
    KIOSK_TRY(loaded, run(conn,
                          "UPDATE tokens SET loaded_at = $1 WHERE meter_number = $2 AND sequence <= $3 "
                          "AND loaded_at IS NULL",
                          {reading.timestamp, reading.meterNumber, reading.lastSequence}));
    result.tokensLoaded = loaded->affected;
    return result;
  });
}

CloudResult<std::string> Store::kioskTimeZone(const std::string& kioskId) {
  auto lease = m_db.acquire();
  KIOSK_TRY(found, run(*lease, "SELECT time_zone FROM kiosks WHERE id = $1", {kioskId}));
  if (found->rows.empty() || found->rows[0].isNull(0)) return std::string{};
  return found->rows[0].text(0);
}

CloudResult<KioskConfig> Store::kioskConfig(const std::string& kioskId) {
  auto lease = m_db.acquire();
  auto& conn = *lease;
  KIOSK_TRY(kiosk, run(conn,
                       "SELECT id, location, building, service_phone, service_hours, time_zone FROM "
                       "kiosks WHERE id = $1",
                       {kioskId}));
  if (kiosk->rows.empty()) return failWith(CloudError::UnknownKiosk, "unknown kiosk");
  KioskConfig out;
  const auto& row = kiosk->rows[0];
  out.kioskId = row.text(0);
  out.location = row.text(1);
  out.building = row.text(2);
  // The kiosk's own; the service's defaults fill the rest (kioskConfigToJson).
  if (!row.isNull(3)) out.service.phone = row.text(3);
  if (!row.isNull(4)) out.service.hours = row.text(4);
  if (!row.isNull(5)) out.service.timeZone = row.text(5);
  KIOSK_TRY(tariffs, run(conn, "SELECT id, name, utility, spec FROM tariffs ORDER BY id"));
  for (const auto& t : tariffs->rows) {
    protocol::ConfigTariff tariff;
    tariff.id = t.text(0);
    tariff.name = t.text(1);
    tariff.utility = t.text(2);
    tariff.spec = t.text(3);
    out.tariffs.push_back(std::move(tariff));
  }
  // As many as a kiosk reads, the most recently blocked first (listed by number). Those left
  // out are still refused online, at card lookup and order creation.
  KIOSK_TRY(blocked, run(conn,
                         "SELECT number, status FROM (SELECT number, status FROM cards WHERE status "
                         "<> 'ACTIVE' ORDER BY COALESCE(status_at, 0) DESC, number LIMIT $1) AS recent "
                         "ORDER BY number",
                         {static_cast<std::int64_t>(limits::kMaxBlockedCards)}));
  for (const auto& c : blocked->rows) out.blockedCards.push_back({c.text(0), c.text(1)});
  std::int64_t blockedTotal = static_cast<std::int64_t>(blocked->rows.size());
  if (blocked->rows.size() == limits::kMaxBlockedCards) {
    KIOSK_TRY(counted, run(conn, "SELECT COUNT(*) FROM cards WHERE status <> 'ACTIVE'"));
    blockedTotal = counted->rows[0].integer(0);
    if (blockedTotal > static_cast<std::int64_t>(limits::kMaxBlockedCards)) warnUnlisted(blockedTotal);
  }
  out.blockedCardsTotal = blockedTotal;
  KIOSK_TRY(staff, run(conn,
                       "SELECT id, name, pin_salt, pin_hash, pin_iterations, card_number FROM staff "
                       "WHERE status = 'ACTIVE' ORDER BY id"));
  for (const auto& s : staff->rows) {
    protocol::StaffMember member;
    member.id = s.text(0);
    member.name = s.text(1);
    member.pinSalt = s.text(2);
    member.pinHash = s.text(3);
    member.pinIterations = s.integer(4);
    if (!s.isNull(5)) member.cardNumber = s.text(5);
    out.staff.push_back(std::move(member));
  }
  return out;
}

}  // namespace kiosk::cloud
