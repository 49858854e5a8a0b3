// The engine-neutral group committer (group_commit.h) over the in-memory
// engine's batches: grouping, rollback of one work without the others,
// when and in which order `done` runs, a failed write, and the destructor.
#include "server/storage/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "server/storage/keys.h"
#include "server/storage/memory/memory_state.h"

namespace loupe::storage {
namespace {

// What the committer did with its batches.
struct Observer {
  std::atomic<int> writes{0};
  std::atomic<int> rollbacks{0};
  std::atomic<bool> fail_writes{false};
  // The next `conflicts` batches report a serialization conflict after
  // their works (as a SQL engine's would on SQLSTATE 40001).
  std::atomic<int> conflicts{0};
};

// A memory batch that counts writes and rollbacks, and fails its write on
// demand (as a full disk would).
class ObservedBatch final : public GroupBatch {
 public:
  ObservedBatch(std::unique_ptr<GroupBatch> inner, Observer* observer)
      : inner_(std::move(inner)),
        observer_(observer),
        conflict_(observer->conflicts.fetch_sub(1) > 0) {}
  Transaction& transaction() override { return inner_->transaction(); }
  void SetSavePoint() override { inner_->SetSavePoint(); }
  void RollbackToSavePoint() override {
    ++observer_->rollbacks;
    inner_->RollbackToSavePoint();
  }
  void PopSavePoint() override { inner_->PopSavePoint(); }
  absl::Status Write() override {
    if (observer_->fail_writes) return absl::UnavailableError("disk full");
    ++observer_->writes;
    return inner_->Write();
  }
  bool MustRetry() const override { return conflict_; }

 private:
  std::unique_ptr<GroupBatch> inner_;
  Observer* observer_;
  const bool conflict_;
};

v1::Piece Piece(const std::string& id) {
  v1::Piece p;
  p.set_id(id);
  p.set_studio_id("aurum");
  p.set_studio_reference("ref-" + id);
  return p;
}

// Inserts piece `id` and logs `id`; refused with `refusal` if it is set.
Store::Work InsertAndLog(const std::string& id, absl::Status refusal = {}) {
  return [id, refusal](Transaction& txn) -> absl::Status {
    txn.InsertPiece(Piece(id));
    auto index = txn.AppendLog(id);
    if (!index.ok()) return index.status();
    return refusal;
  };
}

class GroupCommitTest : public ::testing::Test {
 protected:
  void TearDown() override { committer_.reset(); }

  absl::Status CommitAndWait(Store::Work work) {
    std::promise<absl::Status> result;
    committer_->Submit(std::move(work),
                       [&](absl::Status s) { result.set_value(s); });
    return result.get_future().get();
  }
  // Blocks the commit thread until `release` is set; returns once the
  // blocking work runs, so that what is submitted next forms one group.
  void Block(std::shared_future<void> release) {
    std::promise<void> running;
    committer_->Submit(
        [&running, release](Transaction&) {
          running.set_value();
          release.wait();
          return absl::OkStatus();
        },
        [](absl::Status) {});
    running.get_future().wait();
  }
  bool Stored(const std::string& id) {
    return state_.tables[kPieces].contains(id);
  }
  std::vector<std::string> Logged() {
    std::vector<std::string> out;
    for (const auto& e : state_.log) out.push_back(e.entry);
    return out;
  }

  MemoryState state_;
  LogTree tree_;
  absl::Status health_;
  PendingLog log_{&tree_, &health_};
  Observer observer_;
  std::unique_ptr<GroupCommitter> committer_ = std::make_unique<GroupCommitter>(
      [this] {
        return std::make_unique<ObservedBatch>(NewMemoryBatch(&state_, &log_),
                                               &observer_);
      },
      &log_);
};

TEST_F(GroupCommitTest, WorksQueuedDuringACommitShareOneWrite) {
  std::promise<void> release;
  Block(release.get_future().share());
  std::vector<std::promise<absl::Status>> done(5);
  for (int i = 0; i < 5; ++i) {
    committer_->Submit(InsertAndLog("pc_" + std::to_string(i)),
                       [&done, i](absl::Status s) { done[i].set_value(s); });
  }
  EXPECT_EQ(observer_.writes, 0);
  release.set_value();
  for (auto& d : done) EXPECT_TRUE(d.get_future().get().ok());
  // One write for the blocking work's group, one for the five.
  EXPECT_EQ(observer_.writes, 2);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Stored("pc_" + std::to_string(i)));
  EXPECT_EQ(tree_.size(), 5u);
}

TEST_F(GroupCommitTest, ARefusedWorkIsRolledBackWithoutTheOthers) {
  std::promise<void> release;
  Block(release.get_future().share());
  std::promise<absl::Status> a, b, c;
  std::promise<uint64_t> c_index;
  committer_->Submit(InsertAndLog("pc_a"),
                     [&](absl::Status s) { a.set_value(s); });
  committer_->Submit(
      [](Transaction& txn) -> absl::Status {
        // Overwrites work a's piece, adds its own, logs twice: all undone.
        v1::Piece changed = Piece("pc_a");
        changed.set_title("from the refused work");
        txn.UpdatePiece(changed);
        txn.InsertPiece(Piece("pc_b"));
        if (!txn.AppendLog("b1").ok() || !txn.AppendLog("b2").ok()) {
          return absl::InternalError("log");
        }
        return absl::AbortedError("parent_number: not current");
      },
      [&](absl::Status s) { b.set_value(s); });
  committer_->Submit(
      [&](Transaction& txn) -> absl::Status {
        EXPECT_FALSE(*txn.FindPiece("pc_b"));
        EXPECT_EQ((*txn.FindPiece("pc_a"))->title(), "");
        txn.InsertPiece(Piece("pc_c"));
        auto index = txn.AppendLog("pc_c");
        c_index.set_value(index.ok() ? *index : 99);
        return absl::OkStatus();
      },
      [&](absl::Status s) { c.set_value(s); });
  release.set_value();
  EXPECT_TRUE(a.get_future().get().ok());
  const absl::Status refused = b.get_future().get();
  EXPECT_EQ(refused.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(refused.message(), "parent_number: not current");
  EXPECT_TRUE(c.get_future().get().ok());
  EXPECT_EQ(c_index.get_future().get(), 1u);  // b's indexes were given back.
  EXPECT_EQ(observer_.rollbacks, 1);
  EXPECT_TRUE(Stored("pc_a"));
  EXPECT_FALSE(Stored("pc_b"));
  EXPECT_TRUE(Stored("pc_c"));
  EXPECT_FALSE(state_.tables[kIndex].contains(
      keys::StudioReference("aurum", "ref-pc_b")));
  EXPECT_EQ(Logged(), (std::vector<std::string>{"pc_a", "pc_c"}));
  EXPECT_EQ(tree_.size(), 2u);
  EXPECT_EQ(*tree_.LeafHash(1), crypto::LeafHash("pc_c"));
}

TEST_F(GroupCommitTest, DoneRunsAfterTheWriteInSubmissionOrder) {
  std::promise<void> release;
  Block(release.get_future().share());
  std::mutex mu;
  std::vector<int> order;
  std::vector<bool> durable;
  std::promise<void> all_done;
  constexpr int kWorks = 20;
  for (int i = 0; i < kWorks; ++i) {
    const std::string id = "pc_" + std::to_string(i);
    committer_->Submit(
        InsertAndLog(id,
                     i % 3 == 1 ? absl::AbortedError("no") : absl::Status()),
        [&, i](absl::Status) {
          std::lock_guard<std::mutex> lock(mu);
          std::shared_lock read(state_.mu);
          order.push_back(i);
          // What a caller reads in done is already written.
          durable.push_back(i % 3 == 1 || state_.tables[kPieces].contains(
                                              "pc_" + std::to_string(i)));
          if (order.size() == kWorks) all_done.set_value();
        });
  }
  release.set_value();
  all_done.get_future().wait();
  std::lock_guard<std::mutex> lock(mu);
  for (int i = 0; i < kWorks; ++i) {
    EXPECT_EQ(order[i], i);
    EXPECT_TRUE(durable[i]) << i;
  }
}

TEST_F(GroupCommitTest, AFailedWriteFailsItsGroupAndGrowsNoLog) {
  ASSERT_TRUE(CommitAndWait(InsertAndLog("pc_0")).ok());
  observer_.fail_writes = true;
  std::promise<void> release;
  Block(release.get_future().share());
  std::promise<absl::Status> a, b;
  committer_->Submit(InsertAndLog("pc_a"),
                     [&](absl::Status s) { a.set_value(s); });
  committer_->Submit(InsertAndLog("pc_b", absl::InvalidArgumentError("bad")),
                     [&](absl::Status s) { b.set_value(s); });
  release.set_value();
  EXPECT_EQ(a.get_future().get().code(), absl::StatusCode::kUnavailable);
  // A refused work keeps its own error.
  EXPECT_EQ(b.get_future().get().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Stored("pc_a"));
  EXPECT_EQ(tree_.size(), 1u);
  // The next group's entries take the indexes the failed group did not use.
  observer_.fail_writes = false;
  std::promise<uint64_t> index;
  ASSERT_TRUE(CommitAndWait([&](Transaction& txn) -> absl::Status {
                auto i = txn.AppendLog("next");
                index.set_value(i.ok() ? *i : 99);
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(index.get_future().get(), 1u);
  EXPECT_EQ(Logged(), (std::vector<std::string>{"pc_0", "next"}));
}

TEST_F(GroupCommitTest, TheDestructorCommitsQueuedWork) {
  std::promise<void> release;
  Block(release.get_future().share());
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    committer_->Submit(InsertAndLog("pc_" + std::to_string(i)),
                       [&](absl::Status s) { ok += s.ok() ? 1 : 0; });
  }
  // The destructor waits for the blocked group, then commits the queue.
  std::thread destroy([&] { committer_.reset(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  release.set_value();
  destroy.join();
  EXPECT_EQ(ok, 4);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(Stored("pc_" + std::to_string(i)));
  EXPECT_EQ(tree_.size(), 4u);
}

TEST(PendingLogTest, AnUnhealthyLogRefusesAppends) {
  LogTree tree;
  const absl::Status damaged = absl::DataLossError("entry 3 was rewritten");
  PendingLog log(&tree, &damaged);
  auto r = log.Reserve("entry");
  EXPECT_EQ(r.status(), damaged);
  PendingLog none(nullptr, &damaged);
  EXPECT_EQ(none.Reserve("entry").status().code(), absl::StatusCode::kInternal);
}

TEST(PendingLogTest, LeavesJoinTheTreeOnlyWhenDurable) {
  LogTree tree;
  const absl::Status healthy;
  PendingLog log(&tree, &healthy);
  EXPECT_EQ(log.Reserve("a")->index, 0u);
  const size_t mark = log.mark();
  EXPECT_EQ(log.Reserve("b")->index, 1u);
  log.RollBackTo(mark);
  auto c = log.Reserve("c");
  EXPECT_EQ(c->index, 1u);
  EXPECT_EQ(c->leaf, crypto::LeafHash("c"));
  EXPECT_EQ(tree.size(), 0u);
  log.Finish(/*durable=*/false);
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_EQ(log.Reserve("a")->index, 0u);
  log.Finish(/*durable=*/true);
  EXPECT_EQ(tree.size(), 1u);
  EXPECT_EQ(*tree.LeafHash(0), crypto::LeafHash("a"));
}

TEST_F(GroupCommitTest, AConflictedGroupRunsAgainOnANewBatch) {
  observer_.conflicts = 2;
  std::atomic<int> runs{0};
  std::atomic<uint64_t> index{99};
  const absl::Status s = CommitAndWait([&](Transaction& txn) -> absl::Status {
    ++runs;
    // Each run sees nothing of the discarded ones.
    EXPECT_FALSE(*txn.FindPiece("pc_1"));
    txn.InsertPiece(Piece("pc_1"));
    auto logged = txn.AppendLog("pc_1");
    if (!logged.ok()) return logged.status();
    index = *logged;
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(observer_.writes, 1);  // Only the third batch was written.
  EXPECT_EQ(index, 0u);            // Each run's index was given back.
  EXPECT_TRUE(Stored("pc_1"));
  EXPECT_EQ(Logged(), std::vector<std::string>{"pc_1"});
  EXPECT_EQ(tree_.size(), 1u);
}

TEST_F(GroupCommitTest, ConflictsBeyondTheBoundAbortEveryWorkAndWriteNothing) {
  std::atomic<int> runs{0};
  std::promise<absl::Status> a, b;
  std::promise<void> release;
  Block(release.get_future().share());  // Its batch is made: no conflict.
  observer_.conflicts = 1000;  // Every batch of the next group conflicts.
  committer_->Submit(
      [&](Transaction& txn) {
        ++runs;
        return InsertAndLog("pc_a")(txn);
      },
      [&](absl::Status s) { a.set_value(s); });
  committer_->Submit(InsertAndLog("pc_b", absl::AbortedError("refused")),
                     [&](absl::Status s) { b.set_value(s); });
  release.set_value();
  for (auto* done : {&a, &b}) {
    const absl::Status s = done->get_future().get();
    EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
    EXPECT_NE(s.message().find("conflicted with concurrent writers"),
              std::string::npos)
        << s;
  }
  EXPECT_EQ(runs, GroupCommitter::kMaxGroupAttempts);
  EXPECT_EQ(observer_.writes, 1);  // The blocking group's only.
  EXPECT_FALSE(Stored("pc_a"));
  EXPECT_TRUE(Logged().empty());
  EXPECT_EQ(tree_.size(), 0u);
}

}  // namespace
}  // namespace loupe::storage
