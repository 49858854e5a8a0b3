#include "server/log/checkpoint_publisher.h"

#include <algorithm>
#include <utility>

namespace loupe::server {

CheckpointPublisher::CheckpointPublisher(TransparencyLog* log,
                                         std::chrono::milliseconds interval)
    : log_(log), interval_(interval), last_signed_(Clock::now() - interval) {
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

void CheckpointPublisher::PublishAndAnswer() {
  const Clock::time_point started = Clock::now();
  auto published = log_->Publish();
  std::vector<Waiter> covered;
  {
    std::lock_guard lock(mu_);
    if (published.ok() && published->size > published_size_.load()) {
      last_signed_ = started;
      published_size_.store(published->size, std::memory_order_release);
      ++publications_;
    }
    auto split =
        std::partition(waiters_.begin(), waiters_.end(), [&](const Waiter& w) {
          return published.ok() && w.size > published_size_.load();
        });
    covered.assign(std::make_move_iterator(split),
                   std::make_move_iterator(waiters_.end()));
    waiters_.erase(split, waiters_.end());
  }
  for (auto& w : covered) w.then();
}

}  // namespace loupe::server
