#include "protocol/signing.hpp"
#include "cloud/store_sql.hpp"
#include "cloud/tariff.hpp"
#include "protocol/limits.hpp"
#include "protocol/text.hpp"

#include <algorithm>

#include <functional>
#include <map>

// Operator writes. Their requests arrive checked (cloud/operator_requests.cpp); what is left
// here is what only the database can tell: a duplicate, a reference to nothing, a full list.

namespace kiosk::cloud {
namespace {

using namespace sql;
namespace limits = protocol::limits;

// A failed INSERT of an operator request, as the operator should read it.
Failure insertFailure(const DbFailure& failure) {
  if (failure.kind == DbErrorKind::Unique) return {CloudError::Conflict, "already exists"};
  // A reference to a row that does not exist (foreign key) is the operator's mistake.
  if (failure.message.find("FOREIGN KEY") != std::string::npos ||
      failure.message.find("foreign key") != std::string::npos) {
    return {CloudError::BadRequest, "refers to something that does not exist"};
  }
  return toFailure(failure);
}

CloudResult<bool> insertRow(Database& db, std::string_view sql, const std::vector<SqlValue>& params) {
  auto result = db.execWrite(sql, params);
  if (!result) return Unexpected<Failure>{insertFailure(result.error())};
  return true;
}

// Runs a write (a new row, or a row made active again) unless `room`, run first in the same
// transaction, refuses: for what kiosks read only so many of. `lock` serialises concurrent
// writes of the kind on PostgreSQL (SQLite has one writer).
CloudResult<bool> writeCounted(Database& db, const SqlStatement& lock,
                               const std::function<CloudResult<bool>(SqlConnection&)>& room,
                               std::string_view sql, const std::vector<SqlValue>& params) {
  return transact<bool>(db, [&](SqlConnection& conn) -> CloudResult<bool> {
    if (db.dialect() == Dialect::Postgres) {
      KIOSK_TRY(locked, run(conn, lock.sql, lock.params));
    }
    KIOSK_TRY(fits, room(conn));
    auto inserted = conn.exec(sql, params);
    if (!inserted) {
      // A serialization failure or a lost connection: transact() retries or reports it.
      if (inserted.error().kind == DbErrorKind::Retry) return Unexpected<Failure>{toFailure(inserted.error())};
      return Unexpected<Failure>{insertFailure(inserted.error())};
    }
    return true;
  });
}

// For writeCounted: room while fewer than `max` rows (counted by `countSql`) exist, as many
// as every kiosk's configuration lists.
std::function<CloudResult<bool>(SqlConnection&)> roomInConfig(const char* countSql, std::size_t max,
                                                              const char* what) {
  return [countSql, max, what](SqlConnection& conn) -> CloudResult<bool> {
    KIOSK_TRY(count, run(conn, countSql));
    if (static_cast<std::size_t>(count->rows[0].integer(0)) >= max) {
      return failWith(CloudError::BadRequest, "there are " + std::to_string(max) + " " + what +
                                                  " already, as many as a kiosk's configuration holds");
    }
    return true;
  };
}

// Every kiosk's configuration lists the active staff.
SqlStatement staffLock() { return {"LOCK TABLE staff IN SHARE ROW EXCLUSIVE MODE", {}}; }
std::function<CloudResult<bool>(SqlConnection&)> roomForActiveStaff() {
  return roomInConfig("SELECT COUNT(*) FROM staff WHERE status = 'ACTIVE'", limits::kMaxStaff,
                      "active staff");
}

SqlValue orNull(const std::string& value) { return value.empty() ? SqlValue(nullptr) : SqlValue(value); }

}  // namespace

CloudResult<bool> Store::createTariff(const NewTariff& request, std::int64_t now) {
  // Stored as its spec, the form kiosks read in their configuration.
  const std::string spec = tariffToJson(request.tariff).dump();
  // Every kiosk's configuration lists every tariff.
  const auto room = roomInConfig("SELECT COUNT(*) FROM tariffs", limits::kMaxTariffs, "tariffs");
  return writeCounted(m_db, {"LOCK TABLE tariffs IN SHARE ROW EXCLUSIVE MODE", {}}, room,
                      "INSERT INTO tariffs (id, name, utility, kind, spec, created_at) VALUES ($1, "
                      "$2, $3, $4, $5, $6)",
                      {request.id, request.name, request.utility,
                       std::string(kindName(request.tariff.kind)), spec, now});
}

CloudResult<bool> Store::createAccount(const NewAccount& request, std::int64_t now) {
  return insertRow(m_db,
                   "INSERT INTO accounts (id, resident, building, room, household, fee_policy, "
                   "fee_share_pct, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                   {request.id, request.resident, request.building, request.room, request.household,
                    request.feePolicy, request.feeSharePct, now});
}

CloudResult<bool> Store::createMeter(const NewMeter& request, std::int64_t now) {
  return insertRow(m_db,
                   "INSERT INTO meters (number, account_id, utility, tariff_id, key_version, "
                   "created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                   {request.number, request.accountId, request.utility, orNull(request.tariffId),
                    request.keyVersion, now});
}

CloudResult<bool> Store::createCard(const NewCard& request, std::int64_t now) {
  const char* insert =
      "INSERT INTO cards (number, kind, account_id, meter_number, public_key, created_at) "
      "VALUES ($1, $2, $3, $4, $5, $6)";
  const std::vector<SqlValue> values{request.number, request.kind, orNull(request.accountId),
                                     orNull(request.meterNumber), orNull(request.publicKey), now};
  if (request.meterNumber.empty()) return insertRow(m_db, insert, values);
  // Card, account and meter agree: fees are charged to the card's account, and credit goes
  // to the card's meter, so the meter must be that account's.
  auto sameHousehold = [&](SqlConnection& conn) -> CloudResult<bool> {
    KIOSK_TRY(meter, run(conn, "SELECT account_id FROM meters WHERE number = $1", {request.meterNumber}));
    if (meter->rows.empty()) {
      return failWith(CloudError::BadRequest, "no meter " + request.meterNumber);
    }
    const std::string owner = meter->rows[0].text(0);
    if (owner != request.accountId) {
      return failWith(CloudError::BadRequest, "meter " + request.meterNumber + " belongs to account " +
                                                  owner + ", not " + request.accountId);
    }
    return true;
  };
  return writeCounted(m_db, {"SELECT number FROM meters WHERE number = $1 FOR UPDATE", {request.meterNumber}},
                      sameHousehold, insert, values);
}

CloudResult<bool> Store::createFee(const NewFee& request, std::int64_t now) {
  // The household's card lookup lists every fee it owes, and their total.
  auto room = [&](SqlConnection& conn) -> CloudResult<bool> {
    KIOSK_TRY(owed, run(conn,
                        "SELECT COUNT(*), COALESCE(SUM(amount - paid), 0) FROM fees WHERE "
                        "account_id = $1 AND amount > paid",
                        {request.accountId}));
    if (static_cast<std::size_t>(owed->rows[0].integer(0)) >= limits::kMaxFeesOwed) {
      return failWith(CloudError::BadRequest,
                      "the account owes " + std::to_string(limits::kMaxFeesOwed) +
                          " fees already, as many as a card lookup lists");
    }
    if (owed->rows[0].integer(1) > limits::kMaxMoney - request.amount) {
      return failWith(CloudError::BadRequest, "the account's fees owed would exceed " +
                                                  std::to_string(limits::kMaxMoney));
    }
    return true;
  };
  // The account's row serialises fees billed to it at the same time.
  return writeCounted(m_db, {"SELECT id FROM accounts WHERE id = $1 FOR UPDATE", {request.accountId}},
                      room,
                      "INSERT INTO fees (id, account_id, item, description, amount, created_at) "
                      "VALUES ($1, $2, $3, $4, $5, $6)",
                      {request.id, request.accountId, request.item, request.description,
                       request.amount, now});
}

CloudResult<bool> Store::createKiosk(const NewKiosk& request, std::int64_t now) {
  return insertRow(m_db,
                   "INSERT INTO kiosks (id, secret, location, building, created_at, service_phone, "
                   "service_hours, time_zone) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                   {request.id, request.secret, request.location, request.building, now,
                    orNull(request.servicePhone), orNull(request.serviceHours), orNull(request.timeZone)});
}

CloudResult<bool> Store::createStaff(const NewStaff& request, std::int64_t now) {
  constexpr int kIterations = 100000;
  const std::string salt = protocol::randomHex(16);
  const std::string hash = protocol::pbkdf2Hex(request.pin, salt, kIterations);
  return writeCounted(m_db, staffLock(), roomForActiveStaff(),
                      "INSERT INTO staff (id, name, pin_salt, pin_hash, pin_iterations, card_number, "
                      "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                      {request.id, request.name, salt, hash, static_cast<std::int64_t>(kIterations),
                       orNull(request.cardNumber), now});
}

CloudResult<bool> Store::setStatus(const std::string& table, const std::string& id,
                                   const std::string& status, std::int64_t now) {
  // The table's name goes into the statement: only these.
  static const std::map<std::string, std::string, std::less<>> kKeys = {
      {"accounts", "id"}, {"cards", "number"}, {"kiosks", "id"}, {"staff", "id"}, {"meters", "number"}};
  const auto key = kKeys.find(table);
  if (key == kKeys.end()) return failWith(CloudError::NotFound, "nothing to block there");
  const std::string update = "UPDATE " + table + " SET status = $1 WHERE " + key->second + " = $2";
  if (table == "staff" && status == "ACTIVE") {
    // Re-activating one needs room in the kiosks' configuration, as creating one does; one
    // already active stays so.
    auto room = [&id, counted = roomForActiveStaff()](SqlConnection& conn) -> CloudResult<bool> {
      KIOSK_TRY(member, run(conn, "SELECT status FROM staff WHERE id = $1", {id}));
      if (member->rows.empty()) return failWith(CloudError::NotFound, "no such staff " + id);
      if (member->rows[0].text(0) == "ACTIVE") return true;
      return counted(conn);
    };
    return writeCounted(m_db, staffLock(), room, update, {status, id});
  }
  KIOSK_TRY(rows, table == "cards"
                      ? writeOnce(m_db, "UPDATE cards SET status = $1, status_at = $3 WHERE number = $2",
                                  {status, id, now})
                      : writeOnce(m_db, update, {status, id}));
  if (rows->affected == 0) return failWith(CloudError::NotFound, "no such " + table + " " + id);
  return true;
}

CloudResult<CardIssueInfo> Store::cardForIssue(const std::string& cardNumber) {
  KIOSK_TRY(rows, runOnce(m_db,
                          "SELECT c.kind, c.account_id, c.meter_number, m.utility, t.spec FROM cards c "
                          "LEFT JOIN meters m ON m.number = c.meter_number LEFT JOIN tariffs t ON "
                          "t.id = m.tariff_id WHERE c.number = $1",
                          {cardNumber}));
  if (rows->rows.empty()) return failWith(CloudError::UnknownCard, "unknown card " + cardNumber);
  const auto& r = rows->rows[0];
  return CardIssueInfo{cardNumber,
                       r.text(0),
                       r.text(1),
                       r.text(2),
                       r.isNull(3) ? "electricity" : r.text(3),
                       r.isNull(4) ? std::nullopt : std::optional<std::string>(r.text(4))};
}

CloudResult<bool> Store::setCardPublicKey(const std::string& cardNumber,
                                          const std::string& publicKeyHex) {
  KIOSK_TRY(rows, writeOnce(m_db, "UPDATE cards SET public_key = $1 WHERE number = $2",
                            {publicKeyHex, cardNumber}));
  return rows->affected == 1;
}

CloudResult<bool> Store::registerCardPublicKey(const std::string& cardNumber,
                                               const std::string& publicKeyHex) {
  KIOSK_TRY(rows, writeOnce(m_db,
                            "UPDATE cards SET public_key = $1 WHERE number = $2 AND "
                            "(public_key IS NULL OR public_key = '' OR UPPER(public_key) = UPPER($1))",
                            {publicKeyHex, cardNumber}));
  if (rows->affected == 1) return true;
  KIOSK_TRY(card, runOnce(m_db, "SELECT 1 FROM cards WHERE number = $1", {cardNumber}));
  if (card->rows.empty()) return failWith(CloudError::NotFound, "no card " + cardNumber);
  return failWith(CloudError::Conflict, "card " + cardNumber + " already has another public key");
}

// ---------------------------------------------------------------------------------------
// Ids from before the id rule

namespace {

// The tables whose rows have an operator-chosen id, and the columns that refer to each.
struct IdTable {
  const char* table;
  std::vector<std::pair<const char*, const char*>> referrers;  // table, column
};
const std::vector<IdTable>& idTables() {
  static const std::vector<IdTable> tables{
      {"kiosks", {{"orders", "kiosk_id"}, {"journal_events", "kiosk_id"}, {"nonces", "kiosk_id"}}},
      {"accounts", {{"meters", "account_id"}, {"cards", "account_id"}, {"fees", "account_id"},
                    {"orders", "account_id"}}},
      {"tariffs", {{"meters", "tariff_id"}}},
      {"staff", {}},
      {"fees", {{"fee_payments", "fee_id"}, {"order_fee_items", "fee_id"}}},
  };
  return tables;
}

}  // namespace

CloudResult<std::vector<std::pair<std::string, std::string>>> Store::idsOutsideRule() {
  std::vector<std::pair<std::string, std::string>> found;
  for (const auto& t : idTables()) {
    KIOSK_TRY(rows, runOnce(m_db, std::string("SELECT id FROM ") + t.table + " ORDER BY id", {}));
    for (const auto& row : rows->rows) {
      if (!protocol::isId(row.text(0))) found.emplace_back(t.table, row.text(0));
    }
  }
  return found;
}

CloudResult<bool> Store::renameId(const std::string& table, const std::string& from, const std::string& to) {
  const auto t = std::find_if(idTables().begin(), idTables().end(),
                              [&](const IdTable& candidate) { return table == candidate.table; });
  if (t == idTables().end()) {
    return failWith(CloudError::BadRequest, "ids are renamed in kiosks, accounts, tariffs, staff or fees");
  }
  if (!protocol::isId(to)) {
    return failWith(CloudError::BadRequest, "the new id must be 1 to 64 of A-Z a-z 0-9 _ . -");
  }
  const bool postgres = m_db.dialect() == Dialect::Postgres;
  return transact<bool>(m_db, [&](SqlConnection& conn) -> CloudResult<bool> {
    // The row is copied under its new id, its referrers follow, then the old row goes: every
    // foreign key holds at every step, on both databases.
    KIOSK_TRY(columns, run(conn, postgres ? "SELECT column_name FROM information_schema.columns WHERE "
                                            "table_schema = current_schema() AND table_name = $1 "
                                            "ORDER BY ordinal_position"
                                          : "SELECT name FROM pragma_table_info($1) ORDER BY cid",
                           {table}));
    std::string names;
    std::string values;
    for (const auto& column : columns->rows) {
      const std::string name = column.text(0);
      names += (names.empty() ? "" : ", ") + name;
      values += (values.empty() ? "" : ", ") + (name == "id" ? std::string("$2") : name);
    }
    auto copied = conn.exec("INSERT INTO " + table + " (" + names + ") SELECT " + values + " FROM " + table +
                                " WHERE id = $1",
                            {from, to});
    if (!copied) {
      if (copied.error().kind == DbErrorKind::Retry) return Unexpected<Failure>{toFailure(copied.error())};
      return Unexpected<Failure>{insertFailure(copied.error())};  // `to` is taken: CONFLICT
    }
    if (copied->affected == 0) return failWith(CloudError::NotFound, "no " + table + " " + from);
    for (const auto& [referrer, column] : t->referrers) {
      KIOSK_TRY(moved, run(conn, std::string("UPDATE ") + referrer + " SET " + column + " = $2 WHERE " + column +
                                     " = $1",
                           {from, to}));
    }
    KIOSK_TRY(removed, run(conn, "DELETE FROM " + table + " WHERE id = $1", {from}));
    return true;
  });
}

}  // namespace kiosk::cloud
