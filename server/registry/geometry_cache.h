#pragma once

// Mesh measurements, once per asset: keyed by the asset's SHA-256 and the
// format its file name implies (content-addressed bytes never change), run
// on a bounded worker pool, kept in memory most recently used first.
//
// An upload of a mesh file starts its measurement when it commits
// (Prefetch); a version citing the asset then finds the summary ready, or
// waits for the measurement in flight, without a thread blocking: the
// callback runs on the pool thread that finishes it.

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/sha256.h"
#include "server/registry/geometry_summary.h"
#include "server/registry/worker_pool.h"
#include "server/storage/store.h"

namespace loupe::server {

class GeometryCache {
 public:
  struct Options {
    uint64_t max_triangles = 20'000'000;  // limits.max_mesh_triangles
    int threads = 1;                      // geometry.threads
    size_t max_entries = 100'000;         // geometry.cache_entries
    size_t max_bytes = 64 << 20;          // geometry.cache_bytes
  };
  // An outcome shared by every caller; null never.
  using Measurement = std::shared_ptr<const MeshMeasurement>;
  // Not OK when the bytes could not be read (NOT_FOUND, DATA_LOSS, ...):
  // such outcomes are not cached.
  using Callback = std::function<void(absl::StatusOr<Measurement>)>;

  // Neither is owned; both outlive the cache. `pool` may be null: then
  // measurements run on the caller's thread (tests, tools).
  GeometryCache(storage::Store* store, WorkerPool* pool, Options options)
      : store_(store), pool_(pool), options_(options) {}

  // Starts measuring the asset as `format` (MeshFormatOf) unless it is
  // cached or in flight; no-op after Stop(). Never blocks.
  void Prefetch(const crypto::Sha256Digest& sha256, std::string format);
  // Calls `done` once with the asset's measurement as `format`: inline when
  // cached (or without a pool), else on the pool thread that measures it.
  void Get(const crypto::Sha256Digest& sha256, std::string format,
           Callback done);
  // Measurements queued by Prefetch alone are dropped from now on; those
  // someone waits for still run. For shutdown, before the pool is drained.
  void Stop();

  [[nodiscard]] const Options& options() const { return options_; }

  struct Stats {
    uint64_t hits = 0;      // Get answered from the cache.
    uint64_t measured = 0;  // Measurements run.
    size_t entries = 0;
    size_t bytes = 0;
  };
  [[nodiscard]] Stats stats() const;

 private:
  using Key = std::pair<crypto::Sha256Digest, std::string>;
  struct Entry {
    Measurement measurement;
    size_t bytes = 0;
    std::list<Key>::iterator in_lru;
  };

  // Queues the measurement of `key` (pending_ has its waiters).
  void Start(const Key& key);
  // Reads and measures; then caches and answers the waiters.
  void Measure(const Key& key);
  // Needs mu_.
  void Insert(const Key& key, Measurement measurement);

  storage::Store* store_;
  WorkerPool* pool_;
  const Options options_;

  mutable std::mutex mu_;
  std::map<Key, Entry> entries_;
  std::list<Key> lru_;  // Most recently used first.
  size_t bytes_ = 0;
  // Measurements queued or running, with who waits for each.
  std::map<Key, std::vector<Callback>> pending_;
  bool stopping_ = false;
  Stats stats_;
};

}  // namespace loupe::server
