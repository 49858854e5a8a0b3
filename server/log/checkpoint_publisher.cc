#include "server/log/checkpoint_publisher.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <optional>
#include <utility>

#include "base/str_cat.h"
#include "crypto/random.h"

namespace loupe::server {

namespace {

std::string DefaultHolder() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return StrCat(host, "/", getpid(), "/", crypto::RandomId(""));
}

}  // namespace

CheckpointPublisher::CheckpointPublisher(TransparencyLog* log,
                                         std::chrono::milliseconds interval,
                                         Lease lease, std::string holder)
    : log_(log),
      interval_(interval),
      lease_ttl_(std::max(3 * interval, std::chrono::milliseconds(1000))),
      lease_(lease != nullptr
                 ? std::move(lease)
                 : [log](std::string_view h,
                         std::chrono::milliseconds
                             ttl) { return log->HoldPublisherLease(h, ttl); }),
      holder_(holder.empty() ? DefaultHolder() : std::move(holder)),
      last_signed_(Clock::now() - interval) {
  PublishAndAnswer();
  thread_ = std::thread([this] { Run(); });
}

CheckpointPublisher::~CheckpointPublisher() { Stop(); }

void CheckpointPublisher::AfterCovering(uint64_t size,
                                        std::function<void()> then) {
  // Never more than the log holds: a pre-log certificate's index (or a
  // caller's mistake) must not wait for ever.
  if (auto now = log_->Size(); now.ok()) size = std::min(size, *now);
  if (published_size_.load(std::memory_order_acquire) >= size) {
    return then();  // The common case, without the lock.
  }
  {
    std::lock_guard lock(mu_);
    if (!stopped_ && published_size_ < size) {
      waiters_.push_back({size, std::move(then)});
      wake_.notify_one();
      return;
    }
  }
  then();
}

void CheckpointPublisher::AfterCoveringNow(std::function<void()> then) {
  AfterCovering(UINT64_MAX, std::move(then));
}

void CheckpointPublisher::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  PublishAndAnswer();
  // Another front end may take over at once.
  if (leading_.load()) Lead(std::chrono::milliseconds(0));
  std::vector<Waiter> rest;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    rest.swap(waiters_);
  }
  for (auto& w : rest) w.then();
}

uint64_t CheckpointPublisher::published_size() const {
  return published_size_.load(std::memory_order_acquire);
}

uint64_t CheckpointPublisher::publications() const {
  std::lock_guard lock(mu_);
  return publications_;
}

void CheckpointPublisher::Run() {
  std::unique_lock lock(mu_);
  // Whether the tree is looked at without a waiter: once per interval.
  Clock::time_point next_look = Clock::now() + interval_;
  while (!stopping_) {
    const Clock::time_point allowed = last_signed_ + interval_;
    const Clock::time_point at =
        waiters_.empty() ? std::max(allowed, next_look) : allowed;
    if (Clock::now() < at) {
      // Woken early by a new waiter (which may be due now) or Stop().
      wake_.wait_until(lock, at);
      continue;
    }
    lock.unlock();
    PublishAndAnswer();
    lock.lock();
    next_look = Clock::now() + interval_;
  }
}

bool CheckpointPublisher::Lead(std::chrono::milliseconds ttl) {
  auto held = lease_(holder_, ttl);
  const bool now = held.ok() && *held;
  if (!held.ok()) {
    std::cerr << "loupe-server: WARNING: the checkpoint publisher's lease: "
              << held.status().message() << "\n";
  }
  if (leading_.exchange(now) != now && ttl.count() > 0) {
    std::cout << "loupe-server: " << holder_
              << (now ? " publishes checkpoints (holds the lease)"
                      : " follows the checkpoints another front end publishes")
              << std::endl;
  }
  return now;
}

void CheckpointPublisher::PublishAndAnswer() {
  const Clock::time_point started = Clock::now();
  const bool lead = Lead(lease_ttl_);
  // A follower reads the stored checkpoint; none yet is no failure: its
  // waiters wait for the holder's first (or for the lease).
  absl::StatusOr<std::optional<storage::CheckpointRecord>> published;
  if (lead) {
    auto signed_now = log_->Publish();
    if (signed_now.ok()) {
      published = std::optional(*std::move(signed_now));
    } else {
      published = signed_now.status();
    }
  } else {
    published = log_->Follow();
  }
  const bool failed = !published.ok();
  const uint64_t size =
      published.ok() && published->has_value() ? (*published)->size : 0;
  std::vector<Waiter> covered;
  {
    std::lock_guard lock(mu_);
    if (!lead) last_signed_ = started;  // Polls once per interval.
    if (size > published_size_.load()) {
      last_signed_ = started;
      published_size_.store(size, std::memory_order_release);
      if (lead) ++publications_;
    }
    auto split =
        std::partition(waiters_.begin(), waiters_.end(), [&](const Waiter& w) {
          return !failed && w.size > published_size_.load();
        });
    covered.assign(std::make_move_iterator(split),
                   std::make_move_iterator(waiters_.end()));
    waiters_.erase(split, waiters_.end());
  }
  for (auto& w : covered) w.then();
}

}  // namespace loupe::server
