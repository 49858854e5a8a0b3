// The transparency log inside the RocksDB store, where the conformance
// suite cannot reach: an entry rewritten together with its stored leaf
// hash, which only the published checkpoint's root can tell. (What writes
// log, rollback, restart, checkpoints and an entry rewritten alone are in
// conformance/ and registry/ledger_test.cc.)
#include <gtest/gtest.h>

#include <filesystem>

#include "crypto/log_entry.h"
#include "server/storage/keys.h"
#include "server/storage/rocks/raw_db_for_tests.h"
#include "server/storage/rocks/store_fixture_for_tests.h"
#include "server/storage/store.h"

namespace loupe::storage {
namespace {

namespace fs = std::filesystem;

class RocksLogTest : public StoreFixture {
 protected:
  absl::Status AddPieceWithVersions(const std::string& id, int versions) {
    v1::Piece p;
    p.set_id(id);
    p.set_studio_id("aurum");
    p.set_studio_reference("ref-" + id);
    if (auto s = ledger_->CreatePieceAndWait(p); !s.ok()) return s;
    for (int i = 0; i < versions; ++i) {
      v1::TwinVersion v;
      v.set_piece_id(id);
      v.set_parent_number(i);
      auto stored = ledger_->AppendVersionAndWait(v, "aurum");
      if (!stored.ok()) return stored.status();
    }
    return absl::OkStatus();
  }
};

// Rewrites entry `index` in storage; with `fix_leaf_hash` the stored leaf
// hash is recomputed too, so that only the published root can tell.
void RewriteEntry(const fs::path& dir, uint64_t index, bool fix_leaf_hash) {
  RawDbForTests raw(dir.string());
  ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
  std::string value;
  ASSERT_TRUE(
      raw.db()->Get({}, raw.cf("log"), keys::LogEntry(index), &value).ok());
  std::string entry = value.substr(32);
  entry.replace(entry.find("aurum"), 5, "evil!");
  const crypto::Hash leaf = crypto::LeafHash(entry);
  std::string rewritten =
      fix_leaf_hash
          ? std::string(reinterpret_cast<const char*>(leaf.data()), 32)
          : value.substr(0, 32);
  rewritten += entry;
  ASSERT_TRUE(
      raw.db()->Put({}, raw.cf("log"), keys::LogEntry(index), rewritten).ok());
}

TEST_F(RocksLogTest, AConsistentRewriteIsCaughtByThePublishedRoot) {
  ASSERT_TRUE(AddPieceWithVersions("pc_1", 3).ok());
  ASSERT_TRUE(store_->SaveCheckpoint({3, *store_->LogRoot(3), "note"}).ok());
  store_.reset();
  RewriteEntry(dir_, 0, /*fix_leaf_hash=*/true);
  Reopen();
  auto health = store_->LogHealth();
  EXPECT_EQ(health.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(health.message().find("differs from the signed checkpoint"),
            std::string::npos)
      << health;
  EXPECT_EQ(store_->LogInclusionProof(0, 3).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace loupe::storage
