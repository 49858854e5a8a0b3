#include "server/storage/group_commit.h"

#include <vector>

#include "base/str_cat.h"

namespace loupe::storage {

absl::StatusOr<PendingLog::Reserved> PendingLog::Reserve(
    std::string_view entry) {
  if (tree_ == nullptr) {
    return absl::InternalError("this store has no transparency log");
  }
  if (!health_->ok()) return *health_;
  Reserved r{tree_->size() + pending_.size(), crypto::LeafHash(entry)};
  pending_.push_back(r.leaf);
  return r;
}

void PendingLog::Finish(bool durable) {
  // Readers see the new entries only once they are durable.
  if (durable && !pending_.empty()) tree_->Append(pending_);
  pending_.clear();
}

GroupCommitter::GroupCommitter(NewBatch new_batch, PendingLog* log)
    : new_batch_(std::move(new_batch)),
      log_(log),
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

void GroupCommitter::Submit(Store::Work work, Store::Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({std::move(work), std::move(done)});
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

std::vector<absl::Status> GroupCommitter::RunWorks(GroupBatch& batch,
                                                   std::deque<Pending>& group) {
  std::vector<absl::Status> results;
  results.reserve(group.size());
  for (auto& pending : group) {
    batch.SetSavePoint();
    const size_t logged = log_ != nullptr ? log_->mark() : 0;
    absl::Status s = pending.work(batch.transaction());
    if (s.ok()) {
      batch.PopSavePoint();
    } else {
      batch.RollbackToSavePoint();
      if (log_ != nullptr) log_->RollBackTo(logged);
    }
    results.push_back(std::move(s));
  }
  return results;
}

void GroupCommitter::CommitGroup(std::deque<Pending>& group) {
  std::vector<absl::Status> results;
  absl::Status written;
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<GroupBatch> batch = new_batch_();
    written = absl::OkStatus();
    results = RunWorks(*batch, group);
    bool retry = batch->MustRetry();
    if (!retry) {
      written = batch->Write();
      retry = batch->MustRetry();
    }
    if (log_ != nullptr) log_->Finish(written.ok() && !retry);
    if (!retry) break;
    if (attempt == kMaxGroupAttempts) {
      written = absl::AbortedError(
          StrCat("storage: the commit conflicted with concurrent writers ",
                 attempt, " times in a row; nothing was written, try again"));
      results.assign(group.size(), written);
      break;
    }
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
