// The transparency log inside the RocksDB store: what writes log, rollback
// of refused writes, restart, and tampering with stored entries.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>

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

  absl::StatusOr<v1::Certificate> PutCertificate(const std::string& piece,
                                                 uint32_t version,
                                                 const std::string& entry) {
    v1::Certificate c;
    c.set_id("ct_" + piece + std::to_string(version));
    c.set_piece_id(piece);
    c.set_version(version);
    std::promise<absl::StatusOr<v1::Certificate>> result;
    ledger_->PutCertificate(c, entry, [&](absl::StatusOr<v1::Certificate> r) {
      result.set_value(std::move(r));
    });
    return result.get_future().get();
  }

  // Checks the store's roots and proofs against crypto's reference
  // implementation over the entries it serves.
  void ExpectProofsMatchEntries() {
    const uint64_t size = *store_->LogSize();
    auto entries = store_->LogEntries(0, size);
    ASSERT_TRUE(entries.ok()) << entries.status();
    ASSERT_EQ(entries->size(), size);
    std::vector<crypto::Hash> leaves;
    for (const auto& e : *entries) leaves.push_back(crypto::LeafHash(e));
    for (uint64_t n = 1; n <= size; ++n) {
      EXPECT_EQ(*store_->LogRoot(n), crypto::SubtreeRoot(leaves, 0, n));
      for (uint64_t i = 0; i < n; ++i) {
        EXPECT_EQ(*store_->LogInclusionProof(i, n),
                  *crypto::InclusionProof(leaves, i, n));
      }
    }
  }
};

TEST_F(RocksLogTest, VersionsCertificatesAndPieceChangesAreLogged) {
  ASSERT_TRUE(AddPieceWithVersions("pc_1", 2).ok());
  EXPECT_EQ(*store_->LogSize(), 2u);
  auto certificate = PutCertificate("pc_1", 2, "{\"type\":\"certificate\"}");
  ASSERT_TRUE(certificate.ok()) << certificate.status();
  EXPECT_EQ(certificate->log_index(), 2u);
  // Issued once: the second put returns the first, logging nothing.
  EXPECT_EQ(PutCertificate("pc_1", 2, "{}")->log_index(), 2u);

  std::promise<absl::StatusOr<v1::Piece>> changed;
  ledger_->MutatePiece(
      "pc_1",
      [](v1::Piece& piece) -> absl::StatusOr<server::Ledger::PieceChange> {
        piece.set_status(v1::PIECE_STATUS_STOLEN);
        server::Ledger::PieceChange change;
        change.log_entries = {"{\"type\":\"status\"}", "{\"type\":\"owner\"}"};
        change.owner.emplace().set_sequence(1);
        return change;
      },
      [&](absl::StatusOr<v1::Piece> p) { changed.set_value(std::move(p)); });
  auto piece = changed.get_future().get();
  ASSERT_TRUE(piece.ok()) << piece.status();
  EXPECT_EQ(piece->status(), v1::PIECE_STATUS_STOLEN);
  EXPECT_EQ(*store_->LogSize(), 5u);
  auto owners = store_->ListOwners("pc_1");
  ASSERT_EQ(owners->size(), 1u);
  EXPECT_EQ((*owners)[0].log_index(), 4u);

  auto entries = store_->LogEntries(0, 10);
  ASSERT_EQ(entries->size(), 5u);
  EXPECT_NE((*entries)[0].find("\"type\":\"version\""), std::string::npos);
  EXPECT_NE((*entries)[1].find("\"version\":2"), std::string::npos);
  EXPECT_EQ((*entries)[3], "{\"type\":\"status\"}");
  ExpectProofsMatchEntries();
  Reopen();
  EXPECT_EQ(*store_->LogSize(), 5u);
  ExpectProofsMatchEntries();
}

TEST_F(RocksLogTest, RefusedWritesLogNothing) {
  ASSERT_TRUE(AddPieceWithVersions("pc_1", 1).ok());
  v1::TwinVersion stale;
  stale.set_piece_id("pc_1");
  stale.set_parent_number(0);  // Not current: refused.
  EXPECT_EQ(ledger_->AppendVersionAndWait(stale, "aurum").status().code(),
            absl::StatusCode::kAborted);
  std::promise<absl::StatusOr<v1::Piece>> refused;
  ledger_->MutatePiece(
      "pc_1",
      [](v1::Piece&) -> absl::StatusOr<server::Ledger::PieceChange> {
        return absl::FailedPreconditionError("action: not allowed");
      },
      [&](absl::StatusOr<v1::Piece> p) { refused.set_value(std::move(p)); });
  EXPECT_FALSE(refused.get_future().get().ok());
  EXPECT_EQ(*store_->LogSize(), 1u);
  ASSERT_TRUE(AddPieceWithVersions("pc_2", 1).ok());
  EXPECT_EQ(*store_->LogSize(), 2u);
  ExpectProofsMatchEntries();
}

TEST_F(RocksLogTest, CheckpointsAreKeptOnlyWhenNewer) {
  ASSERT_TRUE(AddPieceWithVersions("pc_1", 3).ok());
  EXPECT_FALSE(store_->LatestCheckpoint()->has_value());
  ASSERT_TRUE(store_->SaveCheckpoint({3, *store_->LogRoot(3), "note 3"}).ok());
  ASSERT_TRUE(store_->SaveCheckpoint({2, *store_->LogRoot(2), "note 2"}).ok());
  Reopen();
  auto latest = store_->LatestCheckpoint();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->size, 3u);
  EXPECT_EQ((*latest)->note, "note 3");
  // The same tree with a longer note (witness cosignatures) replaces it; a
  // record of the same size with another root never does.
  ASSERT_TRUE(
      store_->SaveCheckpoint({3, *store_->LogRoot(3), "note 3 cosigned"}).ok());
  ASSERT_TRUE(store_->SaveCheckpoint({3, *store_->LogRoot(2), "forged"}).ok());
  Reopen();
  EXPECT_EQ((*store_->LatestCheckpoint())->note, "note 3 cosigned");
}

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

TEST_F(RocksLogTest, AnEntryRewrittenInStorageIsNamedAndNothingIsServed) {
  ASSERT_TRUE(AddPieceWithVersions("pc_1", 3).ok());
  store_.reset();
  RewriteEntry(dir_, 1, /*fix_leaf_hash=*/false);
  Reopen();
  auto health = store_->LogHealth();
  EXPECT_EQ(health.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(health.message().find("entry 1 was rewritten"), std::string::npos)
      << health;
  EXPECT_EQ(store_->LogSize().status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store_->LogEntries(0, 3).status().code(),
            absl::StatusCode::kDataLoss);
  // Nothing more is appended to a log that no longer matches itself.
  v1::TwinVersion v;
  v.set_piece_id("pc_1");
  v.set_parent_number(3);
  EXPECT_EQ(ledger_->AppendVersionAndWait(v, "aurum").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(store_->GetPiece("pc_1")->current_version(), 3u);
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
