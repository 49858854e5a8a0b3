// The PostgreSQL engine beyond the conformance suite: schema migrations,
// two stores (front ends) on one database sharing the log and taking turns,
// and the re-run of a commit group that fails with a real serialization
// failure.
#include "server/storage/postgres/postgres_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "server/storage/postgres/pg_common.h"
#include "server/storage/postgres/pg_log.h"
#include "server/storage/postgres/test_cluster_for_tests.h"

namespace loupe::storage {
namespace {

using testing::SharedPostgresCluster;

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = SharedPostgresCluster().UniqueName("store");
    auto url = SharedPostgresCluster().CreateDatabase(database_);
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
  }
  absl::StatusOr<std::unique_ptr<Store>> Open(bool migrate = true) {
    PostgresOptions options;
    options.url = url_;
    options.apply_migrations = migrate;
    return OpenPostgresStore(options);
  }
  std::string Sql(const std::string& sql) {
    auto r = SharedPostgresCluster().Sql(database_, sql);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : "";
  }

  std::string database_, url_;
};

v1::Piece Piece(const std::string& id, const std::string& title = "") {
  v1::Piece p;
  p.set_id(id);
  p.set_studio_id("aurum");
  p.set_studio_reference("ref-" + id);
  p.set_title(title);
  return p;
}

TEST_F(PostgresStoreTest, MigrationsAreRecordedOnceAndANewerSchemaIsRefused) {
  // An unmigrated database is refused unless the config asks to migrate.
  auto unmigrated = Open(/*migrate=*/false);
  EXPECT_EQ(unmigrated.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(unmigrated.status().message().find("migrate-schema"),
            std::string::npos)
      << unmigrated.status();
  auto version = MigratePostgresSchema(url_);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 3);
  EXPECT_EQ(*MigratePostgresSchema(url_), 3);  // Idempotent.
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM schema_migrations"), "3");
  EXPECT_TRUE(Open(/*migrate=*/false).ok());
  // A newer loupe-server migrated the database: this one refuses it.
  Sql("INSERT INTO schema_migrations VALUES (4, 'from the future', 0)");
  for (const auto& s :
       {Open(/*migrate=*/false).status(), Open(/*migrate=*/true).status(),
        MigratePostgresSchema(url_).status()}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(s.message().find("version 4"), std::string::npos) << s;
  }
}

TEST_F(PostgresStoreTest, OneFrontEndHoldsThePublisherLeaseUntilItExpires) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a.ok() && b.ok());
  using std::chrono::milliseconds;
  const milliseconds ttl(400);
  EXPECT_TRUE(*(*a)->TryHoldPublisherLease("a", ttl));
  EXPECT_FALSE(*(*b)->TryHoldPublisherLease("b", ttl));  // a's, not expired.
  EXPECT_TRUE(*(*a)->TryHoldPublisherLease("a", ttl));   // Renewed.
  EXPECT_EQ(Sql("SELECT holder FROM publisher_lease"), "a");
  // a stops renewing: b takes it once the lease expires, and a lost it.
  std::this_thread::sleep_for(ttl + milliseconds(100));
  EXPECT_TRUE(*(*b)->TryHoldPublisherLease("b", ttl));
  EXPECT_FALSE(*(*a)->TryHoldPublisherLease("a", ttl));
  // Given up (ttl 0): free at once, for a; a stranger cannot release it.
  EXPECT_FALSE(*(*a)->TryHoldPublisherLease("a", milliseconds(0)));
  EXPECT_FALSE(*(*a)->TryHoldPublisherLease("a", ttl));
  EXPECT_FALSE(*(*b)->TryHoldPublisherLease("b", milliseconds(0)));
  EXPECT_TRUE(*(*a)->TryHoldPublisherLease("a", ttl));
  // Contended by many at once: exactly one holds it.
  std::atomic<int> holders = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto held = (i % 2 ? **a : **b)
                      .TryHoldPublisherLease("t" + std::to_string(i), ttl);
      if (held.ok() && *held) ++holders;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(holders.load(), 0);  // a still holds it: nobody else gets it.
  std::this_thread::sleep_for(ttl + milliseconds(100));
  threads.clear();
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto held = (i % 2 ? **a : **b)
                      .TryHoldPublisherLease("t" + std::to_string(i), ttl);
      if (held.ok() && *held) ++holders;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(holders.load(), 1);
}

TEST_F(PostgresStoreTest, TwoFrontEndsShareOneLog) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a.ok() && b.ok());
  auto append = [](Store& store, const std::string& entry) {
    std::promise<uint64_t> index;
    EXPECT_TRUE(store
                    .CommitAndWait([&](Transaction& txn) -> absl::Status {
                      auto i = txn.AppendLog(entry);
                      if (!i.ok()) return i.status();
                      index.set_value(*i);
                      return absl::OkStatus();
                    })
                    .ok());
    return index.get_future().get();
  };
  for (int i = 0; i < 300; ++i) {  // More than a tile.
    EXPECT_EQ(append(i % 2 ? **b : **a, "e" + std::to_string(i)),
              static_cast<uint64_t>(i));
  }
  EXPECT_EQ(*(*a)->LogSize(), 300u);
  EXPECT_EQ(*(*b)->LogSize(), 300u);
  EXPECT_EQ(*(*a)->LogRoot(300), *(*b)->LogRoot(300));
  std::vector<crypto::Hash> leaves;
  for (int i = 0; i < 300; ++i) {
    leaves.push_back(crypto::LeafHash("e" + std::to_string(i)));
  }
  EXPECT_EQ(*(*b)->LogRoot(300), crypto::SubtreeRoot(leaves, 0, 300));
  auto proof = (*a)->LogInclusionProof(257, 300);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(crypto::VerifyInclusion(leaves[257], 257, 300, *proof,
                                      *(*b)->LogRoot(300)));
  EXPECT_EQ((*b)->LogNodeHashes(8, 0, 1)->front(),
            crypto::SubtreeRoot(leaves, 0, 256));
  EXPECT_EQ(*(*b)->LogEntries(299, 1), std::vector<std::string>{"e299"});
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM log_tiles"), "3");  // 0/0, 0/1, 1/0.
  // A third front end starts from the tiles and scrubs clean.
  auto c = Open();
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)->LogHealth().ok());
  auto report = (*c)->Scrub();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->clean()) << report->problems.front();
  EXPECT_EQ(report->log_entries, 300u);
}

TEST_F(PostgresStoreTest, AGroupThatHitsASerializationFailureRunsAgain) {
  auto a = Open();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->CommitAndWait([](Transaction& txn) {
                    txn.InsertPiece(Piece("pc_1", "v0"));
                    return absl::OkStatus();
                  })
                  .ok());
  std::atomic<int> runs{0};
  std::promise<void> read, other_committed;
  std::promise<absl::Status> done;
  (*a)->Commit(
      [&](Transaction& txn) -> absl::Status {
        auto piece = txn.FindPiece("pc_1");  // The snapshot is taken here.
        if (!piece.ok()) return piece.status();
        if (++runs == 1) {
          read.set_value();
          other_committed.get_future().wait();
        }
        v1::Piece changed = **piece;
        changed.set_title(changed.title() + " +a");
        txn.UpdatePiece(changed);
        return absl::OkStatus();
      },
      [&](absl::Status s) { done.set_value(s); });
  read.get_future().wait();
  // A writer that is not a commit group (so not excluded by the group's
  // lock: an operator's UPDATE, or a database without it) changes the row
  // a's transaction read.
  Sql("UPDATE pieces SET record = (SELECT record FROM pieces WHERE piece_id "
      "= 'pc_1'::BYTEA) WHERE piece_id = 'pc_1'::BYTEA");
  other_committed.set_value();
  const absl::Status s = done.get_future().get();
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(runs, 2);  // 40001 on the first run's write; the re-run wins.
  EXPECT_EQ((*a)->GetPiece("pc_1")->title(), "v0 +a");
}

// Two front ends' groups exclude each other before their snapshots: a
// group that started reading first holds back the other front end's group
// until it commits, and neither runs again (before the lock, the second
// front end committed first and the first group failed with 40001 on the
// coordinator row and re-ran, which under load exhausted its retries).
TEST_F(PostgresStoreTest, FrontEndsTakeTurnsInsteadOfAbortingEachOther) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a.ok() && b.ok());
  std::atomic<int> a_runs{0}, b_runs{0};
  std::promise<void> a_read;
  std::promise<absl::Status> a_done, b_done;
  std::future<absl::Status> b_result = b_done.get_future();
  bool b_finished_during_a = false;
  (*a)->Commit(
      [&](Transaction& txn) -> absl::Status {
        auto piece = txn.FindPiece("pc_a");  // a's transaction has begun.
        if (!piece.ok()) return piece.status();
        if (++a_runs == 1) {
          a_read.set_value();
          // b's group may finish only once a's has committed.
          b_finished_during_a = b_result.wait_for(std::chrono::seconds(1)) ==
                                std::future_status::ready;
        }
        txn.InsertPiece(Piece("pc_a"));
        return txn.AppendLog("from a").status();
      },
      [&](absl::Status s) { a_done.set_value(s); });
  a_read.get_future().wait();
  (*b)->Commit(
      [&](Transaction& txn) -> absl::Status {
        ++b_runs;
        auto piece = txn.FindPiece("pc_b");
        if (!piece.ok()) return piece.status();
        txn.InsertPiece(Piece("pc_b"));
        return txn.AppendLog("from b").status();
      },
      [&](absl::Status s) { b_done.set_value(s); });
  const absl::Status a_status = a_done.get_future().get();
  const absl::Status b_status = b_result.get();
  EXPECT_TRUE(a_status.ok()) << a_status;
  EXPECT_TRUE(b_status.ok()) << b_status;
  EXPECT_FALSE(b_finished_during_a);
  EXPECT_EQ(a_runs, 1);
  EXPECT_EQ(b_runs, 1);
  EXPECT_EQ(*(*b)->LogEntries(0, 2),
            (std::vector<std::string>{"from a", "from b"}));
}

// Only PostgreSQL itself gets the LOCK TABLE; the distributed engines,
// which speak the protocol but lack table locks, are told apart by
// version().
TEST(PostgresDialectTest, TheTableLockIsUsedOnlyOnPostgreSql) {
  using pg::Dialect;
  EXPECT_EQ(pg::DialectOfVersion("PostgreSQL 15.5 (Debian 15.5-0+deb12u1) on "
                                 "x86_64-pc-linux-gnu"),
            Dialect::kPostgres);
  EXPECT_EQ(pg::DialectOfVersion("CockroachDB CCL v23.1.11 "
                                 "(x86_64-pc-linux-gnu, built 2023/09/27)"),
            Dialect::kDistributed);
  EXPECT_EQ(pg::DialectOfVersion("PostgreSQL 11.2-YB-2.18.0.0-b0 on "
                                 "x86_64-pc-linux-gnu"),
            Dialect::kDistributed);
  EXPECT_NE(pg::WriterExclusionSql(Dialect::kPostgres), nullptr);
  EXPECT_EQ(pg::WriterExclusionSql(Dialect::kDistributed), nullptr);
  // The store opened on this cluster detects PostgreSQL.
  auto url = SharedPostgresCluster().CreateDatabase(
      SharedPostgresCluster().UniqueName("dialect"));
  ASSERT_TRUE(url.ok()) << url.status();
  pg::ConnectionPool pool(*url, 1);
  EXPECT_EQ(*pg::DetectDialect(pool), Dialect::kPostgres);
}

}  // namespace
}  // namespace loupe::storage

namespace loupe::storage {
namespace {

// Appends `n` entries through `store` and saves a checkpoint of the whole
// log (unsigned: the engine stores what the publisher signed).
void GrowAndPublish(Store& store, int n) {
  ASSERT_TRUE(store
                  .CommitAndWait([n](Transaction& txn) -> absl::Status {
                    for (int i = 0; i < n; ++i) {
                      auto index = txn.AppendLog("entry");
                      if (!index.ok()) return index.status();
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  auto size = store.LogSize();
  ASSERT_TRUE(size.ok()) << size.status();
  auto root = store.LogRoot(*size);
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_TRUE(store.SaveCheckpoint({*size, *root, "note"}).ok());
}

// A front end opening while another appends and publishes between the
// open's two reads: the log it reads second is never smaller than the
// checkpoint it read first, so the open finds nothing wrong. (Read the
// other way round, as before, this was a false DATA_LOSS: "10 entries in
// storage but a checkpoint of 15 was published".)
TEST_F(PostgresStoreTest, ACheckpointPublishedDuringOpenIsNotDataLoss) {
  auto other = Open();
  ASSERT_TRUE(other.ok()) << other.status();
  GrowAndPublish(**other, 10);

  pg::ConnectionPool pool(url_, 2);
  pg::TileTree tree(&pool);
  absl::Status health = absl::UnknownError("not checked");
  ASSERT_TRUE(pg::CheckLogAtOpen(pool, tree, 1000, &health, [&] {
                GrowAndPublish(**other, 5);
              }).ok());
  EXPECT_TRUE(health.ok()) << health;
  EXPECT_GE(tree.size(), 15u);

  // And the check still catches a log that really lost entries.
  Sql("UPDATE log_coordinator SET next_index = 12");
  pg::TileTree shrunk(&pool);
  ASSERT_TRUE(pg::CheckLogAtOpen(pool, shrunk, 1000, &health).ok());
  EXPECT_EQ(health.code(), absl::StatusCode::kDataLoss) << health;
}

}  // namespace
}  // namespace loupe::storage
