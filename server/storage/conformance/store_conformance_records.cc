// Conformance: atomic commits, refused works, concurrent writers and
// conflicts, pagination, and what survives a restart.
#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "server/storage/conformance/store_conformance.h"

namespace loupe::storage::conformance {
namespace {

// A work that writes one record of every kind and one log entry.
Store::Work WriteEverything(const std::string& piece_id, std::string entry) {
  return [piece_id, entry = std::move(entry)](Transaction& txn) {
    v1::Piece piece;
    piece.set_id(piece_id);
    piece.set_studio_id("aurum");
    piece.set_studio_reference("ref-" + piece_id);
    piece.set_current_version(1);
    txn.InsertPiece(piece);
    v1::TwinVersion version;
    version.set_piece_id(piece_id);
    version.set_number(1);
    txn.InsertVersion(version);
    v1::Certificate certificate;
    certificate.set_id("ct_" + piece_id);
    certificate.set_piece_id(piece_id);
    certificate.set_version(1);
    txn.InsertCertificate(certificate);
    v1::OwnerRecord owner;
    owner.set_sequence(1);
    txn.InsertOwner(piece_id, owner);
    v1::GeometryCheck check;
    check.set_check_id("ck_" + piece_id);
    check.set_piece_id(piece_id);
    txn.InsertCheck(check);
    auto index = txn.AppendLog(entry);
    return index.ok() ? absl::OkStatus() : index.status();
  };
}

// Whether every record WriteEverything writes is readable (all) or none
// is (none); anything between fails the test.
enum class Seen { kAll, kNone };
void ExpectRecords(Store& store, const std::string& piece_id, Seen seen) {
  const bool all = seen == Seen::kAll;
  EXPECT_EQ(store.GetPiece(piece_id).ok(), all) << piece_id;
  EXPECT_EQ(store.GetVersion(piece_id, 1).ok(), all);
  EXPECT_EQ(store.GetCertificate("ct_" + piece_id).ok(), all);
  auto of = store.GetCertificateOf(piece_id, 1);
  ASSERT_TRUE(of.ok()) << of.status();
  EXPECT_EQ(of->has_value(), all);
  auto owners = store.ListOwners(piece_id);
  EXPECT_EQ(owners.ok() && owners->size() == 1, all);
  EXPECT_EQ(store.GetCheck("ck_" + piece_id).ok(), all);
  auto pages = store.ListPieces("aurum", "", 100);
  ASSERT_TRUE(pages.ok());
  const bool listed =
      std::any_of(pages->pieces.begin(), pages->pieces.end(),
                  [&](const v1::Piece& p) { return p.id() == piece_id; });
  EXPECT_EQ(listed, all);
}

TEST_P(StoreConformanceTest, ACommitIsVisibleWhenDoneAndNotBefore) {
  std::promise<void> written, go;
  std::shared_future<void> go_future = go.get_future().share();
  std::promise<absl::Status> done;
  std::atomic<bool> seen_in_done{false};
  auto write = WriteEverything("pc_1", "entry 0");
  store_->Commit(
      [&, write, go_future](Transaction& txn) {
        absl::Status s = write(txn);
        written.set_value();
        go_future.wait();  // Hold the commit while the test reads.
        return s;
      },
      [&](absl::Status s) {
        // Durable and visible to readers by the time done runs.
        seen_in_done = store_->GetPiece("pc_1").ok() &&
                       store_->GetCertificate("ct_pc_1").ok() &&
                       *store_->LogSize() == 1;
        done.set_value(s);
      });
  written.get_future().wait();
  ExpectRecords(*store_, "pc_1", Seen::kNone);
  EXPECT_EQ(*store_->LogSize(), 0u);
  go.set_value();
  ASSERT_TRUE(done.get_future().get().ok());
  EXPECT_TRUE(seen_in_done);
  ExpectRecords(*store_, "pc_1", Seen::kAll);
  EXPECT_EQ(*store_->LogSize(), 1u);
  if (!engine().persists()) return;
  Reopen();
  ExpectRecords(*store_, "pc_1", Seen::kAll);
  EXPECT_EQ(*store_->LogEntries(0, 1), std::vector<std::string>{"entry 0"});
}

TEST_P(StoreConformanceTest, ARefusedWorkWritesNothing) {
  auto write = WriteEverything("pc_1", "entry 0");
  const absl::Status refused = store_->CommitAndWait([write](Transaction& txn) {
    EXPECT_TRUE(write(txn).ok());
    return absl::FailedPreconditionError("action: refused after writing");
  });
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message(), "action: refused after writing");
  ExpectRecords(*store_, "pc_1", Seen::kNone);
  EXPECT_EQ(*store_->LogSize(), 0u);
  // Its reference is free again, and its log index is reused.
  auto created = store_->CommitAndWait([](Transaction& txn) -> absl::Status {
    auto found = txn.FindPieceByReference("aurum", "ref-pc_1");
    if (!found.ok()) return found.status();
    EXPECT_FALSE(found->has_value());
    auto index = txn.AppendLog("entry 0 again");
    if (!index.ok()) return index.status();
    EXPECT_EQ(*index, 0u);
    return absl::OkStatus();
  });
  EXPECT_TRUE(created.ok()) << created;
}

TEST_P(StoreConformanceTest, ARefusedWorkLeavesNothingWhileItsGroupCommits) {
  ASSERT_TRUE(AddPiece("pc_0", "aurum").ok());
  std::vector<std::promise<absl::Status>> done(3);
  std::vector<uint64_t> indexes(3, 99);
  {
    CommitterGate gate(*store_);  // Works 0-2 queue up: one group.
    auto commit = [&](int i, Store::Work work) {
      store_->Commit(std::move(work),
                     [&done, i](absl::Status s) { done[i].set_value(s); });
    };
    commit(0, [&, write = WriteEverything("pc_a", "a")](Transaction& txn) {
      auto index = txn.AppendLog("a2");
      indexes[0] = index.ok() ? *index : 98;
      return write(txn);
    });
    commit(1, [&, write = WriteEverything("pc_b", "b")](Transaction& txn) {
      // Changes a record of the committed store and one of work 0's, then
      // is refused: both keep their values.
      auto a = txn.FindPiece("pc_a");
      if (!a.ok() || !a->has_value()) return absl::InternalError("no pc_a");
      (*a)->set_title("changed by a refused work");
      txn.UpdatePiece(**a);
      auto zero = txn.FindPiece("pc_0");
      if (!zero.ok() || !zero->has_value()) return absl::InternalError("0");
      (*zero)->set_title("changed by a refused work");
      txn.UpdatePiece(**zero);
      if (auto s = write(txn); !s.ok()) return s;
      auto index = txn.AppendLog("b2");
      indexes[1] = index.ok() ? *index : 98;
      return absl::AbortedError("refused");
    });
    commit(2, [&, write = WriteEverything("pc_c", "c")](Transaction& txn) {
      auto b = txn.FindPiece("pc_b");
      EXPECT_TRUE(b.ok() && !b->has_value()) << "work 1's writes leaked";
      auto index = txn.AppendLog("c2");
      indexes[2] = index.ok() ? *index : 98;
      return write(txn);
    });
  }
  EXPECT_TRUE(done[0].get_future().get().ok());
  EXPECT_EQ(done[1].get_future().get().code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(done[2].get_future().get().ok());
  ExpectRecords(*store_, "pc_a", Seen::kAll);
  ExpectRecords(*store_, "pc_b", Seen::kNone);
  ExpectRecords(*store_, "pc_c", Seen::kAll);
  EXPECT_EQ(store_->GetPiece("pc_a")->title(), "");
  EXPECT_EQ(store_->GetPiece("pc_0")->title(), "");
  // Work 2's entries take the indexes work 1 gave back.
  EXPECT_EQ(indexes[0], 0u);
  EXPECT_EQ(indexes[2], 2u);
  EXPECT_EQ(*store_->LogSize(), 4u);
  auto entries = store_->LogEntries(0, 10);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(*entries, (std::vector<std::string>{"a2", "a", "c2", "c"}));
}

TEST_P(StoreConformanceTest, OneOfManyAppendsToTheSameParentWins) {
  ASSERT_TRUE(AddPiece("pc_1", "aurum").ok());
  constexpr int kWriters = 8;
  std::vector<std::thread> threads;
  std::vector<absl::StatusCode> codes(kWriters);
  std::atomic<int> ready{0};
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready < kWriters) std::this_thread::yield();
      auto v = MakeVersion("pc_1", 0);
      v.set_note("writer " + std::to_string(i));
      codes[i] = ledger_->AppendVersionAndWait(v, "aurum").status().code();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(codes.begin(), codes.end(), absl::StatusCode::kOk), 1);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), absl::StatusCode::kAborted),
            kWriters - 1);
  EXPECT_EQ(store_->GetPiece("pc_1")->current_version(), 1u);
  EXPECT_EQ(*store_->LogSize(), 1u);
  auto page = store_->ListVersions("pc_1", 0, 100);
  ASSERT_EQ(page->versions.size(), 1u);
  const int winner = static_cast<int>(
      std::find(codes.begin(), codes.end(), absl::StatusCode::kOk) -
      codes.begin());
  EXPECT_EQ(page->versions[0].note(), "writer " + std::to_string(winner));
}

TEST_P(StoreConformanceTest, ConcurrentWritersBuildOneContiguousChain) {
  ASSERT_TRUE(AddPiece("pc_1", "aurum").ok());
  constexpr int kWriters = 6;
  constexpr int kAttempts = 15;
  std::atomic<int> ok{0}, aborted{0}, other{0};
  std::mutex mu;
  std::map<uint32_t, int> wins_per_parent;
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < kAttempts; ++n) {
        auto piece = store_->GetPiece("pc_1");
        if (!piece.ok()) {
          ++other;
          continue;
        }
        auto v = MakeVersion("pc_1", piece->current_version());
        v.set_note("writer " + std::to_string(i));
        auto stored = ledger_->AppendVersionAndWait(v, "aurum");
        if (stored.ok()) {
          ++ok;
          std::lock_guard<std::mutex> lock(mu);
          ++wins_per_parent[stored->parent_number()];
          EXPECT_EQ(stored->number(), stored->parent_number() + 1);
        } else if (absl::IsAborted(stored.status())) {
          ++aborted;
          EXPECT_NE(stored.status().message().find("version.parent_number"),
                    std::string::npos);
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other, 0);
  EXPECT_EQ(ok + aborted, kWriters * kAttempts);
  const auto n = static_cast<uint32_t>(ok.load());
  EXPECT_EQ(store_->GetPiece("pc_1")->current_version(), n);
  EXPECT_EQ(*store_->LogSize(), n);
  for (const auto& [parent, wins] : wins_per_parent) {
    EXPECT_EQ(wins, 1) << "parent " << parent;
  }
  auto page = store_->ListVersions("pc_1", 0, 1000);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->versions.size(), n);
  for (uint32_t i = 0; i < n; ++i) {
    EXPECT_EQ(page->versions[i].number(), i + 1);
    EXPECT_EQ(page->versions[i].parent_number(), i);
  }
}

// Pages through ListPieces(studio) with `limit`: every id once, in order.
std::vector<std::string> PageThroughPieces(Store& store,
                                           const std::string& studio,
                                           size_t limit) {
  std::vector<std::string> ids;
  std::string after;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = store.ListPieces(studio, after, limit);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    EXPECT_LE(page->pieces.size(), limit);
    for (const auto& p : page->pieces) {
      if (!studio.empty()) {
        EXPECT_EQ(p.studio_id(), studio);
      }
      ids.push_back(p.id());
    }
    if (!page->last_key) break;
    EXPECT_FALSE(page->pieces.empty());
    EXPECT_EQ(*page->last_key, page->pieces.back().id());
    after = *page->last_key;
  }
  return ids;
}

TEST_P(StoreConformanceTest, ListPiecesPagesThroughAllAndPerStudio) {
  std::vector<std::string> all, aurum;
  for (int i = 0; i < 25; ++i) {
    const std::string id = "pc_" + std::to_string(100 + i);
    const std::string studio = i % 2 ? "aurum" : "bellini";
    ASSERT_TRUE(AddPiece(id, studio).ok());
    all.push_back(id);
    if (studio == "aurum") aurum.push_back(id);
  }
  // A studio whose name is a prefix of another's lists only its own.
  ASSERT_TRUE(AddPiece("pc_900", "aurumx").ok());
  all.push_back("pc_900");
  for (size_t limit : {1, 4, 5, 12, 13, 100}) {
    EXPECT_EQ(PageThroughPieces(*store_, "aurum", limit), aurum) << limit;
    EXPECT_EQ(PageThroughPieces(*store_, "", limit), all) << limit;
  }
  auto whole = store_->ListPieces("", "", all.size());
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->pieces.size(), all.size());
  // Starting after an id that is not stored starts after where it would be.
  auto from = store_->ListPieces("aurum", "pc_104", 2);
  ASSERT_EQ(from->pieces.size(), 2u);
  EXPECT_EQ(from->pieces[0].id(), "pc_105");
  EXPECT_EQ(from->pieces[1].id(), "pc_107");
  EXPECT_TRUE(store_->ListPieces("nobody", "", 10)->pieces.empty());
  EXPECT_FALSE(store_->ListPieces("nobody", "", 10)->last_key.has_value());
}

TEST_P(StoreConformanceTest, ListVersionsPagesThroughAPiece) {
  ASSERT_TRUE(AddPiece("pc_1", "aurum", 7).ok());
  ASSERT_TRUE(AddPiece("pc_10", "aurum", 2).ok());  // Shares a prefix.
  ASSERT_TRUE(AddPiece("pc_2", "aurum").ok());
  auto first = store_->ListVersions("pc_1", 0, 4);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->versions.size(), 4u);
  EXPECT_EQ(first->versions[0].number(), 1u);
  ASSERT_EQ(first->last_number, 4u);
  auto rest = store_->ListVersions("pc_1", *first->last_number, 4);
  ASSERT_EQ(rest->versions.size(), 3u);
  EXPECT_EQ(rest->versions[0].number(), 5u);
  EXPECT_EQ(rest->versions[2].number(), 7u);
  EXPECT_FALSE(rest->last_number.has_value());
  EXPECT_TRUE(store_->ListVersions("pc_1", 7, 4)->versions.empty());
  EXPECT_EQ(store_->ListVersions("pc_10", 0, 100)->versions.size(), 2u);
  EXPECT_TRUE(store_->ListVersions("pc_2", 0, 4)->versions.empty());
  auto missing = store_->ListVersions("pc_nope", 0, 4);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("piece_id"), std::string::npos);
  EXPECT_EQ(store_->GetVersion("pc_1", 0)->number(), 7u);
  EXPECT_EQ(store_->GetVersion("pc_1", 8).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetVersion("pc_2", 0).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, EverythingCommittedSurvivesAReopen) {
  if (!engine().persists()) GTEST_SKIP() << "the engine keeps nothing";
  ASSERT_TRUE(AddPiece("pc_1", "aurum", 3).ok());
  const auto sha = Upload("a file");
  v1::Certificate c;
  c.set_id("ct_1");
  c.set_piece_id("pc_1");
  c.set_version(2);
  ASSERT_TRUE(ledger_->PutCertificateAndWait(c, "certificate").ok());
  const crypto::Hash root = *store_->LogRoot(4);
  ASSERT_TRUE(store_->SaveCheckpoint({4, root, "note"}).ok());
  Reopen();
  EXPECT_EQ(store_->GetPiece("pc_1")->current_version(), 3u);
  EXPECT_EQ(store_->ListVersions("pc_1", 0, 10)->versions.size(), 3u);
  EXPECT_EQ(store_->GetCertificate("ct_1")->log_index(), 3u);
  EXPECT_EQ((*store_->GetCertificateOf("pc_1", 2))->id(), "ct_1");
  EXPECT_EQ(store_->ListCertificates("pc_1")->size(), 1u);
  EXPECT_EQ(store_->GetCertificate("ct_2").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetVersion("pc_1", 0)->number(), 3u);
  EXPECT_EQ(store_->GetVersion("pc_1", 4).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*ReadAll(*store_, sha), "a file");
  EXPECT_TRUE(*store_->IsAssetUploadedBy(sha, "aurum"));
  EXPECT_EQ(*store_->LogSize(), 4u);
  EXPECT_EQ(*store_->LogRoot(4), root);
  EXPECT_EQ((*store_->LatestCheckpoint())->note, "note");
  // The rules' indexes came back too: the reference is still taken.
  auto dup =
      ledger_->CreatePieceAndWait(MakePiece("pc_9", "aurum", "ref-pc_1"));
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(dup.message().find("pc_1"), std::string::npos) << dup;
  // Numbering and the log carry on where they were.
  auto v = ledger_->AppendVersionAndWait(MakeVersion("pc_1", 3), "aurum");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->number(), 4u);
  EXPECT_EQ(*store_->LogSize(), 5u);
}

TEST_P(StoreConformanceTest, ARecordedCheckIsFoundInItsWorkAfterAndReopened) {
  v1::GeometryCheck check;
  check.set_check_id("ck_0123");
  check.set_piece_id("pc_1");
  check.set_log_index(7);
  check.set_statement_json("{\"signed\":true}");
  ASSERT_TRUE(store_
                  ->CommitAndWait([&](Transaction& txn) -> absl::Status {
                    auto before = txn.FindCheck("ck_0123");
                    if (!before.ok()) return before.status();
                    EXPECT_FALSE(before->has_value());
                    txn.InsertCheck(check);
                    auto after = txn.FindCheck("ck_0123");  // Its own write.
                    if (!after.ok()) return after.status();
                    EXPECT_TRUE(after->has_value());
                    EXPECT_FALSE(txn.FindCheck("ck_0124")->has_value());
                    return absl::OkStatus();
                  })
                  .ok());
  auto expect_stored = [&] {
    auto got = store_->GetCheck("ck_0123");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->piece_id(), "pc_1");
    EXPECT_EQ(got->log_index(), 7u);
    EXPECT_EQ(got->statement_json(), "{\"signed\":true}");
    auto missing = store_->GetCheck("ck_0124");
    EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
    EXPECT_NE(missing.status().message().find("check_id"), std::string::npos);
  };
  expect_stored();
  if (!engine().persists()) return;
  Reopen();
  expect_stored();
}

}  // namespace
}  // namespace loupe::storage::conformance
