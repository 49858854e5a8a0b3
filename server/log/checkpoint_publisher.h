#pragma once

// Signs and stores the log's checkpoints on a thread of its own, so that
// no gRPC or storage completion thread signs or syncs: when the tree has
// grown, at most once per interval (log.checkpoint_interval_ms), and once
// more at Stop(). Callers that need a checkpoint holding some entries (an
// issued certificate's proof; a reader who must see its own writes) queue
// a continuation that runs once one is published (AfterCovering).
//
// Several front ends sharing one store publish one at a time: each round
// the publisher takes or renews the store's publisher lease
// (Store::TryHoldPublisherLease, for lease_ttl). The holder signs and
// stores; the others follow: they read the newest stored checkpoint each
// interval, serve it and answer their waiters with it. When the holder
// dies, its lease expires and another front end takes it in its next
// round. Stop() gives the lease up. Engines of one process always grant it.
//
// Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server/log/transparency_log.h"

namespace loupe::server {

class CheckpointPublisher {
 public:
  // Publishes once now (on this thread, before serving: a key rotation's
  // re-signing, a first checkpoint), then starts the thread. `log` is not
  // owned and outlives the publisher. A failure to publish is not fatal:
  // the log's readers report it, and the thread keeps trying.
  //
  // `lease` replaces the store's lease (tests); `holder` names this
  // process in the lease (default: host, pid and a random suffix).
  using Lease = std::function<absl::StatusOr<bool>(
      std::string_view holder, std::chrono::milliseconds ttl)>;
  CheckpointPublisher(TransparencyLog* log, std::chrono::milliseconds interval,
                      Lease lease = nullptr, std::string holder = "");
  ~CheckpointPublisher();  // Stop().
  CheckpointPublisher(const CheckpointPublisher&) = delete;
  CheckpointPublisher& operator=(const CheckpointPublisher&) = delete;

  // Runs `then` once a checkpoint of at least `size` entries (at most the
  // log's present size) is published: inline if one is, else on the
  // publisher's thread, which must not block, so `then` must not. Also
  // runs it if publishing fails (the log's readers then report the error)
  // and, inline, after Stop().
  void AfterCovering(uint64_t size, std::function<void()> then);
  // AfterCovering(the log's present size).
  void AfterCoveringNow(std::function<void()> then);

  // Publishes what has grown, runs every queued continuation, joins.
  // Idempotent.
  void Stop();

  // Tree size of the newest checkpoint published by this publisher.
  [[nodiscard]] uint64_t published_size() const;
  // Checkpoints signed (the tree had grown), for tests and metrics.
  [[nodiscard]] uint64_t publications() const;
  // Whether this front end held the publisher lease at its last round.
  [[nodiscard]] bool leading() const { return leading_.load(); }
  [[nodiscard]] const std::string& holder() const { return holder_; }
  // How long a lease lasts without renewal: 3 intervals, at least 1 s.
  [[nodiscard]] std::chrono::milliseconds lease_ttl() const {
    return lease_ttl_;
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Waiter {
    uint64_t size;
    std::function<void()> then;
  };

  void Run();
  // Publishes (holding the lease) or reads the stored checkpoint (not
  // holding it), and runs the continuations it covers (all if publishing
  // failed). Called without mu_.
  void PublishAndAnswer();
  // Takes or renews the lease (`ttl` 0: gives it up); whether held.
  bool Lead(std::chrono::milliseconds ttl);

  TransparencyLog* const log_;
  const Clock::duration interval_;
  const std::chrono::milliseconds lease_ttl_;
  const Lease lease_;
  const std::string holder_;
  std::atomic<bool> leading_ = false;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Waiter> waiters_;
  // Written under mu_; read without it on the fast path.
  std::atomic<uint64_t> published_size_ = 0;
  uint64_t publications_ = 0;
  // When the last checkpoint was signed; the next may be signed from
  // last_signed_ + interval_.
  Clock::time_point last_signed_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace loupe::server
