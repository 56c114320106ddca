#pragma once
// The billing store's schema as numbered migrations, applied in order at start. One schema
// for SQLite and PostgreSQL: integer money (BIGINT minor units), Unix-second timestamps, text
// identifiers.

#include "cloud/db.hpp"

namespace kiosk::cloud {

// Applies every migration newer than the database's version, each in its own transaction.
// Several processes starting at once are safe: a migration that another one applied first is
// skipped. Returns the schema version.
CloudResult<int> migrate(Database& db);

// The newest schema version this build knows.
int latestSchemaVersion();

}  // namespace kiosk::cloud
