#pragma once

// Engine-neutral group commit: one thread applies Store::Commit works in
// arrival order and commits each group of them with one durable write.
// Engines provide the group's batch (GroupBatch); the transparency log's
// pending leaves are tracked here (PendingLog), so that every engine grows
// its tree the same way: only once the entries are durable.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/merkle.h"
#include "server/storage/log_tree.h"
#include "server/storage/store.h"

namespace loupe::storage {

// Leaves appended by the group being built, on top of the durable tree.
// Used by the committer thread only (the tree itself is thread-safe).
class PendingLog {
 public:
  // Neither is owned; `health` is the log's health fixed at open: appends
  // are refused with it when it is not OK.
  PendingLog(LogTree* tree, const absl::Status* health)
      : tree_(tree), health_(health) {}

  struct Reserved {
    uint64_t index = 0;
    crypto::Hash leaf{};
  };
  // The index and leaf hash `entry` takes; the engine stores them.
  [[nodiscard]] absl::StatusOr<Reserved> Reserve(std::string_view entry);
  [[nodiscard]] size_t mark() const { return pending_.size(); }
  void RollBackTo(size_t mark) { pending_.resize(mark); }
  // After the group's durable write: the tree grows (if `durable`).
  void Finish(bool durable);

 private:
  LogTree* tree_;
  const absl::Status* health_;
  std::vector<crypto::Hash> pending_;
};

// One group's writes, provided by an engine: what works see and write
// (transaction()), save points to refuse one work without the others, and
// the durable write. Used by the committer thread only.
class GroupBatch {
 public:
  virtual ~GroupBatch() = default;
  [[nodiscard]] virtual Transaction& transaction() = 0;
  virtual void SetSavePoint() = 0;
  // Drops the writes made since the newest save point, and the save point.
  virtual void RollbackToSavePoint() = 0;
  // Keeps the writes, drops the newest save point.
  virtual void PopSavePoint() = 0;
  // Makes the batch's writes durable and visible to readers (INTERNAL or
  // UNAVAILABLE if storage fails; nothing is then written). Called once,
  // and not at all if MustRetry() is already true after the works.
  [[nodiscard]] virtual absl::Status Write() = 0;
  // Whether the whole group must run again, every work on a new batch: the
  // batch's transaction failed on a serialization conflict with another
  // writer (SQLSTATE 40001 on a SQL engine), during a work's read or in
  // Write(), and nothing of it was written. Engines whose committer is the
  // only writer never conflict and keep the default.
  [[nodiscard]] virtual bool MustRetry() const { return false; }
};

// Runs submitted works one at a time on its own thread, so that each
// read-check-write is atomic without locks, and commits every group of
// works that queued up during the previous commit with one durable write:
// concurrent writers share one fsync. A work that returns an error has its
// writes (and log entries) rolled back and does not affect the others.
// `done` runs after the group is durable (or failed), on a second thread so
// that answering callers overlaps the next group's write; it must not
// block. A group whose batch must be retried (GroupBatch::MustRetry) runs
// again from its first work on a new batch, at most kMaxGroupAttempts
// times in all (then every work gets ABORTED): works must therefore
// depend only on what they read through the transaction, as the registry's
// do, and may run more than once.
//
// Thread-safe. The destructor commits what is queued, then joins.
class GroupCommitter {
 public:
  // Makes an empty batch for the next group. `log` (may be null: no log)
  // is the batch's PendingLog, which the committer marks and rolls back.
  using NewBatch = std::function<std::unique_ptr<GroupBatch>()>;
  static constexpr int kMaxGroupAttempts = 8;

  GroupCommitter(NewBatch new_batch, PendingLog* log);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void Submit(Store::Work work, Store::Done done);

 private:
  struct Pending {
    Store::Work work;
    Store::Done done;
  };
  struct Completion {
    Store::Done done;
    absl::Status status;
  };

  void Run();
  void CommitGroup(std::deque<Pending>& group);
  // Runs every work of `group` on `batch`; their results.
  std::vector<absl::Status> RunWorks(GroupBatch& batch,
                                     std::deque<Pending>& group);
  void RunCompletions();

  NewBatch new_batch_;
  PendingLog* log_;  // Used by the committer thread only.
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Pending> queue_;
  bool stopping_ = false;

  std::mutex completions_mu_;
  std::condition_variable completions_ready_;
  std::deque<Completion> completions_;
  bool committer_done_ = false;

  std::thread completer_;
  std::thread committer_;
};

}  // namespace loupe::storage
