#pragma once

// Publishes the log as static C2SP tlog-tiles (docs/scale-out.md, "The log
// as static tiles") to an ObjectSink, so that auditors, verifiers and the
// verify page can read it from object storage or a CDN with the registry
// down: for the checkpoint the log serves (TransparencyLog::Checkpoint),
// every full entry bundle and hash tile (immutable objects), the partial
// ones at its size, "trust-root.json" (the root chain that checkpoint
// carries, as /api/v1/trust-root serves it) and, last, "checkpoint". A
// reader who fetched the checkpoint therefore finds every tile it needs.
//
// One thread of its own, woken every `interval` (the checkpoint
// interval), never a gRPC or HTTP thread. Work is bounded: a round writes
// at most `max_objects_per_round` objects and the thread yields between
// rounds, so a publisher far behind (a new bucket, a long outage of it)
// catches up over several rounds while the checkpoint in the bucket stays
// the last complete one. After a restart it resumes from the size of the
// checkpoint in the bucket (the full tiles below it are written). Only
// the front end holding the checkpoint publisher's lease publishes
// (`leading`). Errors are logged and retried with backoff; the registry is
// unaffected. Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "loupe/v1/log.pb.h"
#include "server/log/object_sink.h"
#include "server/storage/store.h"

namespace loupe::server {

class TilePublisher {
 public:
  struct Options {
    std::chrono::milliseconds interval{100};
    size_t max_objects_per_round = 256;
    // How long caches may keep the checkpoint and partial tiles.
    int checkpoint_max_age_seconds = 5;
    int partial_max_age_seconds = 60;
    // The trust roots (DSSE JSON, v1 first) for "trust-root.json", as
    // /api/v1/trust-root serves them; empty: the checkpoint's root_chain.
    std::vector<std::string> trust_roots;
  };
  // The checkpoint to publish (TransparencyLog::Checkpoint).
  using CheckpointSource =
      std::function<absl::StatusOr<v1::SignedCheckpoint>()>;

  // Nothing is owned; all outlive the publisher. Does not start the
  // thread (Start). `leading` null: always publishes.
  TilePublisher(storage::LogReader* log, CheckpointSource checkpoint,
                ObjectSink* sink, Options options,
                std::function<bool()> leading = nullptr);
  ~TilePublisher();  // Stop().
  TilePublisher(const TilePublisher&) = delete;
  TilePublisher& operator=(const TilePublisher&) = delete;

  void Start();
  // Joins the thread after one last attempt to catch up (bounded by
  // rounds, not time). Idempotent.
  void Stop();

  // One bounded round on the caller's thread (tests; the thread calls it):
  // true once the sink holds the current checkpoint and all it needs.
  [[nodiscard]] absl::StatusOr<bool> Round();

  // Tree size of the checkpoint in the sink (0 before any).
  [[nodiscard]] uint64_t published_size() const {
    return published_size_.load();
  }
  // Objects written since start (tests, metrics).
  [[nodiscard]] uint64_t objects_written() const { return objects_.load(); }

 private:
  void Run();
  // Reads the sink's checkpoint once, to resume after a restart.
  absl::Status Resume(uint64_t log_size);
  // Full entry bundles and tiles for leaves [written_, written_ + 256).
  absl::Status WriteFullChunk(uint64_t chunk);
  // Partial bundle and tiles at `size`.
  absl::Status WritePartials(uint64_t size);
  absl::Status WriteEntries(uint64_t index, int width);
  absl::Status WriteHashTile(int level, uint64_t index, int width);
  absl::Status Put(const std::string& key, std::string_view bytes,
                   const ObjectCaching& caching);

  storage::LogReader* const log_;
  const CheckpointSource checkpoint_;
  ObjectSink* const sink_;
  const Options options_;
  const std::function<bool()> leading_;

  std::mutex round_mu_;  // One round at a time; guards what follows.
  bool resumed_ = false;
  uint64_t written_ = 0;  // Leaves whose full bundle and tiles are written.
  std::string published_note_;
  std::string published_roots_;
  size_t budget_ = 0;  // Objects this round may still write.

  std::atomic<uint64_t> published_size_{0};
  std::atomic<uint64_t> objects_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace loupe::server
