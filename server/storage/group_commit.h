#pragma once

// Internal to the RocksDB store: one thread that applies write operations in
// arrival order and commits them in groups, one synced WriteBatch per group.

#include <rocksdb/utilities/write_batch_with_index.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/storage/log_tree.h"
#include "server/storage/rocks_db.h"

namespace loupe::storage {

// Where log entries go: their column family, the tree that grows once they
// are durable, and the log's health (appends are refused with it when it is
// not OK, e.g. the stored log no longer matches its checkpoints).
struct LogTarget {
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  LogTree* tree = nullptr;
  const absl::Status* health = nullptr;
  // Leaf hashes appended by the group so far (in the batch, not durable).
  std::vector<crypto::Hash> pending;
};

// What an operation sees and writes: the committed database plus the writes
// of the operations before it in the same group.
class GroupView {
 public:
  GroupView(RocksDb& db, rocksdb::WriteBatchWithIndex& batch, LogTarget* log)
      : db_(db), batch_(batch), log_(log) {}

  // NOT_FOUND if absent.
  [[nodiscard]] absl::StatusOr<std::string> Get(rocksdb::ColumnFamilyHandle* cf,
                                                std::string_view key);
  [[nodiscard]] absl::StatusOr<bool> Has(rocksdb::ColumnFamilyHandle* cf,
                                         std::string_view key);
  void Put(rocksdb::ColumnFamilyHandle* cf, std::string_view key,
           std::string_view value);
  // Appends `entry` to the transparency log with the group's write; returns
  // its index. The tree grows only once the group is durable; if this
  // operation fails, its entries are rolled back with its other writes.
  [[nodiscard]] absl::StatusOr<uint64_t> AppendLog(std::string_view entry);

 private:
  RocksDb& db_;
  rocksdb::WriteBatchWithIndex& batch_;
  LogTarget* log_;
};

// Runs submitted operations one at a time on its own thread, so that each
// read-check-write is atomic without locks, and commits every group of
// operations that queued up during the previous commit with one synced
// write: concurrent writers share one fsync. An operation that returns an
// error has its writes rolled back and does not affect the others. `done`
// runs after the group is durable (or failed), on a second thread so that
// answering callers overlaps the next group's fsync; it must not block.
//
// Thread-safe. The destructor commits what is queued, then joins.
class GroupCommitter {
 public:
  using Operation = std::function<absl::Status(GroupView& view)>;
  using Done = std::function<void(absl::Status)>;

  // `log.tree` may be null (no log): AppendLog is then INTERNAL.
  GroupCommitter(RocksDb* db, LogTarget log);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void Submit(Operation operation, Done done);

 private:
  struct Pending {
    Operation operation;
    Done done;
  };

  struct Completion {
    Done done;
    absl::Status status;
  };

  void Run();
  void CommitGroup(std::deque<Pending>& group);
  void RunCompletions();

  RocksDb* db_;
  LogTarget log_;  // Used by the committer thread only.
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
