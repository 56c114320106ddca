#include "cloud/schema.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <ctime>
#include <string_view>

namespace kiosk::cloud {
namespace {

// Append only: a released migration never changes.
constexpr std::array<std::string_view, 7> kMigrations = {
    R"sql(
CREATE TABLE tariffs (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  utility TEXT NOT NULL,
  kind TEXT NOT NULL,
  spec TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  resident TEXT NOT NULL,
  building TEXT NOT NULL,
  room TEXT NOT NULL,
  household TEXT NOT NULL,
  fee_policy TEXT NOT NULL DEFAULT 'FEES_FIRST',
  fee_share_pct BIGINT NOT NULL DEFAULT 100,
  status TEXT NOT NULL DEFAULT 'ACTIVE',
  created_at BIGINT NOT NULL
);
CREATE TABLE meters (
  number TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  utility TEXT NOT NULL,
  tariff_id TEXT REFERENCES tariffs(id),
  key_version BIGINT NOT NULL DEFAULT 1,
  token_seq BIGINT NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'ACTIVE',
  created_at BIGINT NOT NULL
);
CREATE TABLE cards (
  number TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  account_id TEXT REFERENCES accounts(id),
  meter_number TEXT REFERENCES meters(number),
  status TEXT NOT NULL DEFAULT 'ACTIVE',
  public_key TEXT,
  created_at BIGINT NOT NULL
);
CREATE TABLE fees (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  item TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  amount BIGINT NOT NULL,
  paid BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
);
CREATE INDEX fees_account ON fees(account_id);
CREATE TABLE kiosks (
  id TEXT PRIMARY KEY,
  secret TEXT NOT NULL,
  location TEXT NOT NULL DEFAULT '',
  building TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'ACTIVE',
  created_at BIGINT NOT NULL
);
CREATE TABLE staff (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  pin_salt TEXT NOT NULL,
  pin_hash TEXT NOT NULL,
  pin_iterations BIGINT NOT NULL,
  card_number TEXT,
  status TEXT NOT NULL DEFAULT 'ACTIVE',
  created_at BIGINT NOT NULL
);
CREATE TABLE orders (
  id TEXT PRIMARY KEY,
  kiosk_id TEXT NOT NULL REFERENCES kiosks(id),
  idempotency_key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  card_number TEXT NOT NULL REFERENCES cards(number),
  account_id TEXT NOT NULL REFERENCES accounts(id),
  meter_number TEXT NOT NULL REFERENCES meters(number),
  origin TEXT NOT NULL DEFAULT 'KIOSK',
  origin_order_id TEXT,
  amount BIGINT NOT NULL,
  fee_amount BIGINT NOT NULL,
  credit_amount BIGINT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  provider TEXT NOT NULL,
  challenge TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  paid_at BIGINT,
  token_issued_at BIGINT,
  delivered_at BIGINT,
  final_at BIGINT,
  updated_at BIGINT NOT NULL,
  UNIQUE (kiosk_id, idempotency_key)
);
CREATE INDEX orders_state ON orders(state, expires_at);
CREATE INDEX orders_card ON orders(card_number, state);
CREATE TABLE fee_payments (
  order_id TEXT NOT NULL REFERENCES orders(id),
  fee_id TEXT NOT NULL REFERENCES fees(id),
  amount BIGINT NOT NULL,
  PRIMARY KEY (order_id, fee_id)
);
CREATE TABLE payments (
  event_id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders(id),
  provider TEXT NOT NULL,
  status TEXT NOT NULL,
  amount BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  received_at BIGINT NOT NULL
);
CREATE INDEX payments_order ON payments(order_id);
CREATE TABLE tokens (
  order_id TEXT PRIMARY KEY REFERENCES orders(id),
  meter_number TEXT NOT NULL REFERENCES meters(number),
  sequence BIGINT NOT NULL,
  amount BIGINT NOT NULL,
  key_version BIGINT NOT NULL,
  issued_at BIGINT NOT NULL,
  token_hex TEXT NOT NULL,
  delivered_at BIGINT,
  loaded_at BIGINT,
  UNIQUE (meter_number, sequence)
);
CREATE TABLE journal_events (
  kiosk_id TEXT NOT NULL REFERENCES kiosks(id),
  seq BIGINT NOT NULL,
  type TEXT NOT NULL,
  at BIGINT NOT NULL,
  payload TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (kiosk_id, seq)
);
CREATE TABLE meter_readings (
  meter_number TEXT NOT NULL REFERENCES meters(number),
  reading_at BIGINT NOT NULL,
  card_number TEXT NOT NULL,
  kiosk_id TEXT NOT NULL,
  last_sequence BIGINT NOT NULL,
  remaining BIGINT NOT NULL,
  consumption BIGINT NOT NULL,
  flags BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (meter_number, reading_at)
);
CREATE TABLE nonces (
  kiosk_id TEXT NOT NULL,
  nonce TEXT NOT NULL,
  seen_at BIGINT NOT NULL,
  PRIMARY KEY (kiosk_id, nonce)
);
CREATE INDEX nonces_seen ON nonces(seen_at);
)sql",
    // An operator refund sends the whole payment back, so the fee settlements it made are
    // reversed: kept for the record, no longer counted as settled.
    R"sql(
ALTER TABLE fee_payments ADD COLUMN reversed_at BIGINT;
)sql",
    // The fees an order's payment settles, as shown to the resident when it was created (the
    // order's fee_items). An order created before this has none: its fee share becomes credit.
    R"sql(
CREATE TABLE order_fee_items (
  order_id TEXT NOT NULL REFERENCES orders(id),
  fee_id TEXT NOT NULL REFERENCES fees(id),
  amount BIGINT NOT NULL,
  PRIMARY KEY (order_id, fee_id)
);
)sql",
    // A refund is claimed by one sweeper before the provider is asked to send the money back;
    // a claim that was not finished (its process died) lapses at refund_claim_until.
    R"sql(
ALTER TABLE orders ADD COLUMN refund_claim TEXT;
ALTER TABLE orders ADD COLUMN refund_claim_until BIGINT;
)sql",
    // When a card was last blocked or reported lost: a kiosk's configuration holds so many
    // blocked cards, the most recent first. Cards changed before this have none (the oldest).
    R"sql(
ALTER TABLE cards ADD COLUMN status_at BIGINT;
CREATE INDEX cards_status ON cards(status, status_at);
)sql",
    // Delivery is proven by the card: the nonce it signs with its CREDIT record is issued with
    // the token, one per order. A token minted before this gets one at its next script.
    R"sql(
ALTER TABLE tokens ADD COLUMN delivery_nonce TEXT;
)sql",
    // A kiosk's own service contact and time zone; NULL: the service's (the organisation's).
    R"sql(
ALTER TABLE kiosks ADD COLUMN service_phone TEXT;
ALTER TABLE kiosks ADD COLUMN service_hours TEXT;
ALTER TABLE kiosks ADD COLUMN time_zone TEXT;
)sql",
};

}  // namespace

int latestSchemaVersion() { return static_cast<int>(kMigrations.size()); }

CloudResult<int> migrate(Database& db) {
  for (std::size_t i = 0; i < kMigrations.size(); ++i) {
    const auto version = static_cast<std::int64_t>(i + 1);
    auto applied = transact<bool>(db, [&](SqlConnection& conn) -> CloudResult<bool> {
      if (db.dialect() == Dialect::Postgres) {
        // Serialise concurrent starters: the second waits here, then sees the row.
        auto locked = conn.exec("SELECT pg_advisory_xact_lock(4711)");
        if (!locked) return Unexpected<Failure>{toFailure(locked.error())};
      }
      auto created = conn.execScript(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
          "applied_at BIGINT NOT NULL)");
      if (!created) return Unexpected<Failure>{toFailure(created.error())};
      auto seen = conn.exec("SELECT 1 FROM schema_migrations WHERE version = $1", {version});
      if (!seen) return Unexpected<Failure>{toFailure(seen.error())};
      if (!seen->rows.empty()) return false;
      if (auto ran = conn.execScript(kMigrations[i]); !ran) {
        return Unexpected<Failure>{toFailure(ran.error())};
      }
      auto recorded = conn.exec("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                                {version, static_cast<std::int64_t>(std::time(nullptr))});
      if (!recorded) return Unexpected<Failure>{toFailure(recorded.error())};
      return true;
    });
    if (!applied) return Unexpected<Failure>{applied.error()};
    if (*applied) spdlog::info("schema: applied migration {}", version);
  }
  return latestSchemaVersion();
}

}  // namespace kiosk::cloud
