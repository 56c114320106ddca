#include "cloud/db.hpp"

#include "cloud/postgres_db.hpp"
#include "cloud/sqlite_db.hpp"

#include <charconv>
#include <optional>
#include <stdexcept>

namespace kiosk::cloud {

std::int64_t SqlRow::integer(std::size_t i) const {
  const auto& column = columns.at(i);
  if (!column) return 0;
  std::int64_t value = 0;
  std::from_chars(column->data(), column->data() + column->size(), value);
  return value;
}

std::optional<std::int64_t> SqlRow::optInteger(std::size_t i) const {
  if (isNull(i)) return std::nullopt;
  return integer(i);
}

Failure toFailure(const DbFailure& failure) {
  switch (failure.kind) {
    case DbErrorKind::Unique: return {CloudError::Conflict, failure.message};
    case DbErrorKind::Retry: return {CloudError::Unavailable, "retry"};
    case DbErrorKind::Unavailable: return {CloudError::Unavailable, failure.message};
    case DbErrorKind::Other: break;
  }
  return {CloudError::Internal, failure.message};
}

Result<void, DbFailure> Database::inTransaction(const std::function<bool(SqlConnection&)>& work) {
  auto lease = acquire();
  if (auto started = lease->begin(); !started) return fail(started.error());
  if (!work(*lease)) {
    lease->rollback();
    return {};
  }
  if (auto committed = lease->commit(); !committed) {
    lease->rollback();
    return fail(committed.error());
  }
  return {};
}

Result<SqlResult, DbFailure> Database::execWrite(std::string_view sql,
                                                 const std::vector<SqlValue>& params) {
  auto lease = acquire();
  return lease->exec(sql, params);
}

std::unique_ptr<Database> openDatabase(const std::string& url, int poolSize) {
  if (url.starts_with("sqlite://")) {
    std::string path = url.substr(std::string_view("sqlite://").size());
    if (path.empty()) throw std::runtime_error("database URL has no path: " + url);
    return openSqliteDatabase(path, poolSize);
  }
  if (url == "sqlite::memory:") return openSqliteDatabase(":memory:", 1);
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return openPostgresDatabase(url, poolSize < 1 ? 1 : poolSize);
  }
  throw std::runtime_error("unsupported database URL (want sqlite:///path or postgresql://...): " +
                           url);
}

}  // namespace kiosk::cloud
