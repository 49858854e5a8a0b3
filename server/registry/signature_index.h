#pragma once

// Every registered ring's shape signature (geometry/signature.h), in
// memory, for identification's candidate stage: one entry per measured
// mesh of every version. Versions are immutable, so entries are only
// added: when a version is recorded (Add), and at start from the stored
// versions' geometry summaries (Rebuild), without reading any mesh.
//
// The search is brute force over contiguous arrays: a window on the inner
// diameter, then the descriptor distance (docs/geometry.md). Thread-safe:
// searches share a lock, additions take it alone.

#include <array>
#include <cstdint>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "geometry/signature.h"
#include "loupe/v1/twin.pb.h"
#include "server/storage/store.h"

namespace loupe::server {

struct IndexedTwin {
  std::string piece_id;
  uint32_t version = 0;
  std::string asset_sha256;
  geometry::RingFrame frame;
};

struct IndexHit {
  IndexedTwin twin;
  double distance = 0;  // Ranking score (smaller is nearer).
};

class SignatureIndex {
 public:
  struct Options {
    double diameter_window_mm = 0.5;  // |inner diameter - scan's| within.
    double diameter_weight = 0.25;    // mm per unit of distance.
    double width_weight = 1.0;        // mm per unit of distance.
  };
  SignatureIndex() : SignatureIndex(Options{}) {}
  explicit SignatureIndex(Options options) : options_(options) {}

  // Adds the signatures of `version`'s geometry (those of the current
  // signature version); a (piece, version, asset) already present is
  // skipped.
  void Add(const v1::TwinVersion& version);
  // Adds a signature directly (benchmarks: synthetic signatures).
  void AddSignature(const IndexedTwin& twin,
                    const geometry::ShapeSignature& signature);
  // Adds every stored version of every piece, page by page. Errors are
  // the store's.
  [[nodiscard]] absl::Status Rebuild(storage::Store& store);
  // Adds the versions other writers recorded since Rebuild or the last
  // CatchUp (front ends sharing one database: each indexes its own
  // writes as they happen, the others' from the log's "version" entries,
  // read from where it left off). Cheap when nothing is new (one read of
  // the log's size). Errors are the store's; a failed catch-up is retried
  // from the same place next time.
  [[nodiscard]] absl::Status CatchUp(storage::Store& store);

  // The entries of the `assets` nearest distinct assets (all entries
  // sharing one: pieces cast from one CAD file), nearest first.
  [[nodiscard]] std::vector<IndexHit> Nearest(
      const geometry::ShapeSignature& scan, size_t assets) const;

  [[nodiscard]] size_t size() const;

 private:
  void AddLocked(const IndexedTwin& twin, float diameter, float width,
                 const std::array<float, geometry::kDescriptorSize>& d);

  const Options options_;
  mutable std::shared_mutex mu_;
  std::vector<float> diameters_, widths_;
  std::vector<float> descriptors_;  // kDescriptorSize per entry.
  std::vector<IndexedTwin> twins_;
  std::set<std::tuple<std::string, uint32_t, std::string>> keys_;
  std::mutex catch_up_mu_;  // One catch-up at a time.
  uint64_t log_read_ = 0;   // Log entries read (guarded by catch_up_mu_).
};

}  // namespace loupe::server
