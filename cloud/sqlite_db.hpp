#pragma once
// The billing store on SQLite, the embedded default: one writing connection with group commit
// and a few reading ones, in WAL mode.

#include "cloud/db.hpp"

#include <memory>
#include <string>

namespace kiosk::cloud {

// `path` is a file, or ":memory:" (reads then share the writer). Throws std::runtime_error
// when the database cannot be opened.
std::unique_ptr<Database> openSqliteDatabase(std::string path, int readers);

}  // namespace kiosk::cloud
