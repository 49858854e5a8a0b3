// Conformance: the transparency log (growth only once durable, proofs,
// checkpoints), a rewritten log entry, and backup and restore.
#include "server/storage/conformance/store_conformance.h"

namespace loupe::storage::conformance {
namespace {

// Appends `entries` in one work.
Store::Work Log(std::vector<std::string> entries) {
  return [entries = std::move(entries)](Transaction& txn) {
    for (const auto& e : entries) {
      if (auto index = txn.AppendLog(e); !index.ok()) return index.status();
    }
    return absl::OkStatus();
  };
}

TEST_P(StoreConformanceTest, TheLogGrowsOnlyOnceItsEntriesAreDurable) {
  ASSERT_TRUE(store_->CommitAndWait(Log({"e0", "e1"})).ok());
  ASSERT_EQ(*store_->LogSize(), 2u);
  const crypto::Hash root2 = *store_->LogRoot(2);
  std::promise<void> appended, go;
  std::shared_future<void> go_future = go.get_future().share();
  std::promise<absl::Status> done;
  store_->Commit(
      [&, go_future](Transaction& txn) -> absl::Status {
        auto index = txn.AppendLog("e2");
        if (!index.ok()) return index.status();
        EXPECT_EQ(*index, 2u);
        appended.set_value();
        go_future.wait();
        return absl::OkStatus();
      },
      [&](absl::Status s) { done.set_value(s); });
  appended.get_future().wait();
  // Appended but not yet durable: readers see the old tree.
  EXPECT_EQ(*store_->LogSize(), 2u);
  EXPECT_EQ(*store_->LogRoot(2), root2);
  EXPECT_EQ(store_->LogEntries(0, 10)->size(), 2u);
  EXPECT_FALSE(store_->LogInclusionProof(2, 3).ok());
  go.set_value();
  ASSERT_TRUE(done.get_future().get().ok());
  EXPECT_EQ(*store_->LogSize(), 3u);
  EXPECT_EQ(*store_->LogRoot(2), root2);  // Append-only.
  EXPECT_EQ(*store_->LogEntries(2, 1), std::vector<std::string>{"e2"});
}

TEST_P(StoreConformanceTest, ProofsVerifyAgainstTheEntriesServed) {
  for (int i = 0; i < 13; ++i) {
    ASSERT_TRUE(
        store_->CommitAndWait(Log({"entry " + std::to_string(i)})).ok());
  }
  ASSERT_TRUE(store_->CommitAndWait(Log({"a", "b", "c", "d"})).ok());
  const uint64_t size = *store_->LogSize();
  ASSERT_EQ(size, 17u);
  auto entries = store_->LogEntries(0, 100);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), size);
  EXPECT_EQ((*entries)[16], "d");
  std::vector<crypto::Hash> leaves;
  for (const auto& e : *entries) leaves.push_back(crypto::LeafHash(e));
  EXPECT_EQ(*store_->LogNodeHashes(0, 0, size), leaves);
  EXPECT_EQ(*store_->LogNodeHashes(4, 0, 1),
            std::vector<crypto::Hash>{crypto::SubtreeRoot(leaves, 0, 16)});
  EXPECT_FALSE(store_->LogNodeHashes(4, 1, 1).ok());  // Not complete yet.
  for (uint64_t n = 1; n <= size; ++n) {
    const crypto::Hash root = *store_->LogRoot(n);
    EXPECT_EQ(root, crypto::SubtreeRoot(leaves, 0, n));
    for (uint64_t i = 0; i < n; ++i) {
      auto proof = store_->LogInclusionProof(i, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(crypto::VerifyInclusion(leaves[i], i, n, *proof, root))
          << i << " in " << n;
      EXPECT_EQ(*proof, *crypto::InclusionProof(leaves, i, n));
    }
    for (uint64_t m = 1; m < n; ++m) {
      auto proof = store_->LogConsistencyProof(m, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(
          crypto::VerifyConsistency(m, n, *store_->LogRoot(m), root, *proof))
          << m << " to " << n;
      EXPECT_EQ(*proof, *crypto::ConsistencyProof(leaves, m, n));
    }
  }
  // A proof is of this tree only.
  auto proof = *store_->LogInclusionProof(3, size);
  EXPECT_FALSE(crypto::VerifyInclusion(leaves[4], 3, size, proof,
                                       *store_->LogRoot(size)));
  auto beyond = store_->LogInclusionProof(size, size + 1);
  EXPECT_EQ(beyond.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->LogRoot(size + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->LogEntries(size, 5)->size(), 0u);
  EXPECT_EQ(store_->LogEntries(15, 5)->size(), 2u);
}

TEST_P(StoreConformanceTest, ACheckpointIsKeptOnlyWhenNewer) {
  ASSERT_TRUE(store_->CommitAndWait(Log({"a", "b", "c"})).ok());
  EXPECT_FALSE(store_->LatestCheckpoint()->has_value());
  ASSERT_TRUE(store_->SaveCheckpoint({3, *store_->LogRoot(3), "note 3"}).ok());
  ASSERT_TRUE(store_->SaveCheckpoint({2, *store_->LogRoot(2), "note 2"}).ok());
  if (engine().persists()) Reopen();
  auto latest = store_->LatestCheckpoint();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->size, 3u);
  EXPECT_EQ((*latest)->root, *store_->LogRoot(3));
  EXPECT_EQ((*latest)->note, "note 3");
  // The same tree with a longer note (witness cosignatures) replaces it; a
  // record of the same size with another root never does.
  ASSERT_TRUE(
      store_->SaveCheckpoint({3, *store_->LogRoot(3), "note 3 cosigned"}).ok());
  ASSERT_TRUE(store_->SaveCheckpoint({3, *store_->LogRoot(2), "forged"}).ok());
  if (engine().persists()) Reopen();
  EXPECT_EQ((*store_->LatestCheckpoint())->note, "note 3 cosigned");
}

TEST_P(StoreConformanceTest, ARewrittenLogEntryIsNamedAndNotServed) {
  ASSERT_TRUE(AddPiece("pc_1", "aurum", 3).ok());
  auto entries = store_->LogEntries(0, 3);
  ASSERT_TRUE(entries.ok());
  std::string forged = (*entries)[1];
  forged.replace(forged.find("aurum"), 5, "evil!");
  RewriteLogEntry(1, forged);
  auto report = store_->Scrub();
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_NE(report->problems[0].find("log entry 1"), std::string::npos)
      << report->problems[0];
  // The rewritten bytes are never served.
  auto served = store_->LogEntries(0, 3);
  EXPECT_EQ(served.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(served.status().message().find("entry 1"), std::string::npos)
      << served.status();

  // After a restart (here: a restore of its backup) the whole log is
  // refused, saying which entry, and nothing more is appended to it.
  BackupAndRestore();
  const absl::Status health = restored_->LogHealth();
  EXPECT_EQ(health.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(health.message().find("entry 1"), std::string::npos) << health;
  EXPECT_EQ(restored_->LogSize().status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(restored_->LogEntries(0, 3).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(restored_->LogInclusionProof(0, 3).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(restored_->LatestCheckpoint().status().code(),
            absl::StatusCode::kDataLoss);
  auto appended =
      restored_ledger_->AppendVersionAndWait(MakeVersion("pc_1", 3), "aurum");
  EXPECT_EQ(appended.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(restored_->GetPiece("pc_1")->current_version(), 3u);
  if (engine().persists()) {
    Reopen();
    EXPECT_EQ(store_->LogHealth().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(store_->LogSize().status().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(ledger_->AppendVersionAndWait(MakeVersion("pc_1", 3), "aurum")
                  .status()
                  .code(),
              absl::StatusCode::kDataLoss);
    EXPECT_EQ(store_->GetPiece("pc_1")->current_version(), 3u);
  }
}

TEST_P(StoreConformanceTest, ABackupRestoresEverythingReadable) {
  const std::string bytes = RandomBytes((1 << 20) + 3, 7);
  const auto sha = Upload(bytes);
  Upload(bytes, "bellini");
  ASSERT_TRUE(AddPiece("pc_1", "aurum", 2).ok());
  ASSERT_TRUE(AddPiece("pc_2", "bellini", 1).ok());
  auto v = MakeVersion("pc_1", 2);
  auto* a = v.add_assets();
  a->set_sha256(crypto::ToHex(sha));
  a->set_size_bytes(bytes.size());
  ASSERT_TRUE(ledger_->AppendVersionAndWait(v, "aurum").ok());
  v1::Certificate c;
  c.set_id("ct_1");
  c.set_piece_id("pc_1");
  c.set_version(3);
  ASSERT_TRUE(ledger_->PutCertificateAndWait(c, "certificate").ok());
  auto owned = ledger_->MutatePieceAndWait(
      "pc_2", [](v1::Piece&) -> absl::StatusOr<server::Ledger::PieceChange> {
        server::Ledger::PieceChange change;
        change.log_entries = {"owner"};
        change.owner.emplace().set_sequence(1);
        return change;
      });
  ASSERT_TRUE(owned.ok()) << owned.status();
  const uint64_t size = *store_->LogSize();
  ASSERT_EQ(size, 6u);
  ASSERT_TRUE(
      store_->SaveCheckpoint({size, *store_->LogRoot(size), "note"}).ok());

  BackupAndRestore();
  // Written after the backup: not in it.
  ASSERT_TRUE(AddPiece("pc_3", "aurum").ok());

  Store& r = *restored_;
  EXPECT_EQ(r.GetPiece("pc_1")->current_version(), 3u);
  EXPECT_EQ(r.GetVersion("pc_1", 3)->assets(0).sha256(), crypto::ToHex(sha));
  EXPECT_EQ(r.ListVersions("pc_1", 0, 10)->versions.size(), 3u);
  EXPECT_EQ(r.ListPieces("", "", 10)->pieces.size(), 2u);
  EXPECT_EQ(r.ListPieces("bellini", "", 10)->pieces.size(), 1u);
  EXPECT_EQ(r.GetCertificate("ct_1")->log_index(), 4u);
  EXPECT_EQ((*r.GetCertificateOf("pc_1", 3))->id(), "ct_1");
  ASSERT_EQ(r.ListOwners("pc_2")->size(), 1u);
  EXPECT_EQ((*r.ListOwners("pc_2"))[0].log_index(), 5u);
  EXPECT_TRUE(*ReadAll(r, sha) == bytes);
  EXPECT_TRUE(*r.IsAssetUploadedBy(sha, "bellini"));
  EXPECT_TRUE(*r.IsAssetOfPiece(sha, "pc_1"));
  EXPECT_EQ(r.CountStats()->assets, 1u);
  EXPECT_TRUE(r.LogHealth().ok()) << r.LogHealth();
  EXPECT_EQ(*r.LogSize(), size);
  EXPECT_EQ(*r.LogRoot(size), *store_->LogRoot(size));
  EXPECT_EQ(*r.LogEntries(0, 10), *store_->LogEntries(0, size));
  EXPECT_EQ((*r.LatestCheckpoint())->note, "note");
  EXPECT_EQ(r.GetPiece("pc_3").status().code(), absl::StatusCode::kNotFound);
  auto scrub = r.Scrub();
  ASSERT_TRUE(scrub.ok());
  EXPECT_TRUE(scrub->clean()) << scrub->problems.front();
  // The restored store carries on: numbering and the log where they were.
  auto next =
      restored_ledger_->AppendVersionAndWait(MakeVersion("pc_1", 3), "aurum");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->number(), 4u);
  EXPECT_EQ(*r.LogSize(), size + 1);
}

TEST_P(StoreConformanceTest, RestoringFromADirectoryWithoutABackupFails) {
  const auto empty = dir_ / "empty";
  const auto target = dir_ / "target";
  std::filesystem::create_directories(empty);
  std::filesystem::create_directories(target);
  auto r = engine().Restore(empty.string(), target.string());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("backup"), std::string::npos)
      << r.status();
}

}  // namespace
}  // namespace loupe::storage::conformance
