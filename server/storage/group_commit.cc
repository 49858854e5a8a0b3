#include "server/storage/group_commit.h"

#include <vector>

namespace loupe::storage {

absl::StatusOr<std::string> GroupView::Get(rocksdb::ColumnFamilyHandle* cf,
                                           std::string_view key) {
  std::string value;
  auto s =
      batch_.GetFromBatchAndDB(db_.db, rocksdb::ReadOptions(), cf,
                               rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return absl::NotFoundError("not found");
  if (!s.ok()) return FromRocks(s, "reading");
  return value;
}

absl::StatusOr<bool> GroupView::Has(rocksdb::ColumnFamilyHandle* cf,
                                    std::string_view key) {
  auto value = Get(cf, key);
  if (value.ok()) return true;
  if (absl::IsNotFound(value.status())) return false;
  return value.status();
}

void GroupView::Put(rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                    std::string_view value) {
  batch_.Put(cf, rocksdb::Slice(key.data(), key.size()),
             rocksdb::Slice(value.data(), value.size()));
}

GroupCommitter::GroupCommitter(RocksDb* db)
    : db_(db),
      completer_([this] { RunCompletions(); }),
      committer_([this] { Run(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  ready_.notify_one();
  committer_.join();
  {
    std::lock_guard<std::mutex> lock(completions_mu_);
    committer_done_ = true;
  }
  completions_ready_.notify_one();
  completer_.join();
}

void GroupCommitter::RunCompletions() {
  for (;;) {
    std::deque<Completion> batch;
    {
      std::unique_lock<std::mutex> lock(completions_mu_);
      completions_ready_.wait(
          lock, [this] { return committer_done_ || !completions_.empty(); });
      if (completions_.empty()) return;  // Committer gone and drained.
      batch.swap(completions_);
    }
    for (auto& c : batch) c.done(std::move(c.status));
  }
}

void GroupCommitter::Submit(Operation operation, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({std::move(operation), std::move(done)});
  }
  ready_.notify_one();
}

void GroupCommitter::Run() {
  for (;;) {
    std::deque<Pending> group;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // Stopping and drained.
      group.swap(queue_);
    }
    CommitGroup(group);
  }
}

void GroupCommitter::CommitGroup(std::deque<Pending>& group) {
  rocksdb::WriteBatchWithIndex batch(rocksdb::BytewiseComparator(), 0,
                                     /*overwrite_key=*/true);
  GroupView view(*db_, batch);
  std::vector<absl::Status> results;
  results.reserve(group.size());
  for (auto& pending : group) {
    batch.SetSavePoint();
    absl::Status s = pending.operation(view);
    if (s.ok()) {
      (void)batch.PopSavePoint();
    } else {
      (void)batch.RollbackToSavePoint();
    }
    results.push_back(std::move(s));
  }
  absl::Status written = absl::OkStatus();
  if (batch.GetWriteBatch()->Count() > 0) {
    written = FromRocks(db_->db->Write(db_->durable, batch.GetWriteBatch()),
                        "committing");
  }
  {
    std::lock_guard<std::mutex> lock(completions_mu_);
    for (size_t i = 0; i < group.size(); ++i) {
      completions_.push_back(
          {std::move(group[i].done), results[i].ok() ? written : results[i]});
    }
  }
  completions_ready_.notify_one();
}

}  // namespace loupe::storage
