#include "server/storage/group_commit.h"

#include <vector>

#include "server/storage/keys.h"

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

absl::StatusOr<uint64_t> GroupView::AppendLog(std::string_view entry) {
  if (log_ == nullptr || log_->tree == nullptr) {
    return absl::InternalError("this store has no transparency log");
  }
  if (!log_->health->ok()) return *log_->health;
  const uint64_t index = log_->tree->size() + log_->pending.size();
  const crypto::Hash leaf = crypto::LeafHash(entry);
  std::string value(reinterpret_cast<const char*>(leaf.data()), leaf.size());
  value.append(entry);
  Put(log_->cf, keys::LogEntry(index), value);
  log_->pending.push_back(leaf);
  return index;
}

GroupCommitter::GroupCommitter(RocksDb* db, LogTarget log)
    : db_(db),
      log_(std::move(log)),
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
  GroupView view(*db_, batch, &log_);
  log_.pending.clear();
  std::vector<absl::Status> results;
  results.reserve(group.size());
  for (auto& pending : group) {
    batch.SetSavePoint();
    const size_t logged = log_.pending.size();
    absl::Status s = pending.operation(view);
    if (s.ok()) {
      (void)batch.PopSavePoint();
    } else {
      (void)batch.RollbackToSavePoint();
      log_.pending.resize(logged);
    }
    results.push_back(std::move(s));
  }
  absl::Status written = absl::OkStatus();
  if (batch.GetWriteBatch()->Count() > 0) {
    written = FromRocks(db_->db->Write(db_->durable, batch.GetWriteBatch()),
                        "committing");
  }
  // Readers see the new entries only once they are durable.
  if (written.ok() && !log_.pending.empty()) log_.tree->Append(log_.pending);
  log_.pending.clear();
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
