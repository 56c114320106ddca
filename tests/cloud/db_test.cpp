// The SQLite store's group commit on a real database file: transactions from many threads share
// commits, and each one returns only once its change is committed, with nothing of a rolled-back
// one kept and wake-ups sent only for committed changes.

#include "cloud/db.hpp"
#include "cloud/schema.hpp"
#include "platform/temp_dir.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace kiosk::cloud {
namespace {

class SqliteGroupCommit : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = platform::makeTempDir("kiosk-db-");
    m_url = "sqlite://" + (m_dir / "cloud.sqlite").string();
    auto db = openDatabase(m_url, 4);
    ASSERT_TRUE(migrate(*db));
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(m_dir, ignored);
  }

  static std::int64_t countNonces(Database& db, const std::string& like) {
    auto lease = db.acquire();
    auto rows = lease->exec("SELECT COUNT(*) FROM nonces WHERE nonce LIKE $1", {like});
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? rows->rows.at(0).integer(0) : -1;
  }

  std::filesystem::path m_dir;
  std::string m_url;
};

TEST_F(SqliteGroupCommit, EveryCommittedTransactionIsVisibleWhenItReturnsAndRollbacksLeaveNothing) {
  constexpr int kThreads = 24;
  constexpr int kEach = 40;
  auto db = openDatabase(m_url, 4);
  std::mutex heardMutex;
  std::set<std::string> heard;
  db->listen("test_channel", [&](const std::string& payload) {
    std::lock_guard lock(heardMutex);
    heard.insert(payload);
  });
  std::atomic<int> committed{0};
  std::atomic<int> problems{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const bool keep = i % 5 != 0;
        const std::string nonce = (keep ? "keep-" : "drop-") + std::to_string(t) + "-" + std::to_string(i);
        auto done = db->inTransaction([&](SqlConnection& conn) {
          auto inserted = conn.exec("INSERT INTO nonces (kiosk_id, nonce, seen_at) VALUES ($1, $2, $3)",
                                    {std::string("K"), nonce, std::int64_t{1}});
          if (!inserted) ++problems;
          (void)db->notify(conn, "test_channel", nonce);
          return keep && inserted.has_value();
        });
        if (!done) {
          ++problems;
          continue;
        }
        if (!keep) continue;
        ++committed;
        // Returned means committed: a reader sees it straight away.
        if (countNonces(*db, nonce) != 1) ++problems;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(problems.load(), 0);
  EXPECT_EQ(committed.load(), kThreads * kEach * 4 / 5);
  EXPECT_EQ(countNonces(*db, "keep-%"), committed.load());
  EXPECT_EQ(countNonces(*db, "drop-%"), 0);
  {
    std::lock_guard lock(heardMutex);
    EXPECT_EQ(static_cast<int>(heard.size()), committed.load());
    for (const auto& payload : heard) EXPECT_EQ(payload.rfind("keep-", 0), 0U) << payload;
  }
  db.reset();

  // What was committed is in the file for the next process that opens it.
  auto reopened = openDatabase(m_url, 1);
  EXPECT_EQ(countNonces(*reopened, "keep-%"), kThreads * kEach * 4 / 5);
}

TEST_F(SqliteGroupCommit, AFailedStatementRollsBackOnlyItsOwnTransaction) {
  auto db = openDatabase(m_url, 2);
  auto first = db->execWrite("INSERT INTO nonces (kiosk_id, nonce, seen_at) VALUES ($1, $2, $3)",
                             {std::string("K"), std::string("same"), std::int64_t{1}});
  ASSERT_TRUE(first) << first.error().message;
  std::atomic<int> duplicates{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const bool clash = i % 2 == 0;
        auto inserted = db->execWrite(
            "INSERT INTO nonces (kiosk_id, nonce, seen_at) VALUES ($1, $2, $3)",
            {std::string("K"), clash ? std::string("same") : "ok-" + std::to_string(t) + "-" + std::to_string(i),
             std::int64_t{1}});
        if (!inserted && inserted.error().kind == DbErrorKind::Unique) ++duplicates;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(duplicates.load(), 8 * 10);
  EXPECT_EQ(countNonces(*db, "ok-%"), 8 * 10);
  EXPECT_EQ(countNonces(*db, "same"), 1);
}

TEST_F(SqliteGroupCommit, ReadersCannotWrite) {
  auto db = openDatabase(m_url, 2);
  auto lease = db->acquire();
  auto written = lease->exec("INSERT INTO nonces (kiosk_id, nonce, seen_at) VALUES ('K', 'x', 1)", {});
  EXPECT_FALSE(written);
}

}  // namespace
}  // namespace kiosk::cloud
