#pragma once
// The billing store on PostgreSQL (libpq), for production: a pool of connections and LISTEN
// for wake-ups across processes.

#include "cloud/db.hpp"

#include <memory>
#include <string>

namespace kiosk::cloud {

// `url` is any libpq conninfo URI. Throws std::runtime_error when a connection fails.
std::unique_ptr<Database> openPostgresDatabase(std::string url, int poolSize);

}  // namespace kiosk::cloud
