#pragma once

// The verify page's 3D view draws a decimated preview of a version's first
// mesh asset (geometry/simplify.h), never the studio's file: at most 50,000
// triangles, about 1/200 of the piece's size per cell at best. Binary,
// little-endian: "LPV1", uint32 vertex count, uint32 triangle count, float32
// x y z per vertex (mm), uint32 corners per triangle. Previews are kept in
// memory by asset digest (the 32 most recent).
//
// Drawing one takes 0.2-0.4 s for a million triangles, so it never runs on
// the caller's thread (an HTTP I/O thread): previews are computed on the
// cache's own threads (Options::threads), each at most once at a time
// however many ask for it (the others wait for the same result), and at
// most Options::max_pending different ones are queued or being computed;
// beyond that a request is refused at once (UNAVAILABLE: retry shortly).
//
// Thread-safe. Shutdown() (or the destructor) answers what is still queued
// UNAVAILABLE and waits for the previews being computed.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "loupe/v1/twin.pb.h"
#include "server/registry/worker_pool.h"
#include "server/storage/store.h"

namespace loupe::server::http {

inline constexpr size_t kPreviewTriangles = 50000;

enum class PreviewFormat { kLpv1, kGlb };

class PreviewCache {
 public:
  using Preview = std::shared_ptr<const std::string>;
  using Callback = std::function<void(absl::StatusOr<Preview>)>;
  // Makes a preview's bytes from a mesh asset (default: read it from the
  // store and decimate it). Tests substitute their own.
  using Compute =
      std::function<absl::StatusOr<std::string>(const v1::AssetRef& asset)>;

  struct Options {
    size_t threads = 1;
    size_t max_pending = 8;  // Different previews queued or being computed.
    Compute compute;         // Empty: the real one.
  };

  // Meshes over `max_triangles` (limits.max_mesh_triangles) get no preview
  // (RESOURCE_EXHAUSTED). `store` must outlive the cache.
  PreviewCache(storage::Store* store, uint64_t max_triangles);
  PreviewCache(storage::Store* store, uint64_t max_triangles, Options options);
  ~PreviewCache();
  PreviewCache(const PreviewCache&) = delete;
  PreviewCache& operator=(const PreviewCache&) = delete;

  // Calls `done` exactly once with the preview of `version`'s first mesh
  // asset: at once on this thread if it is cached or cannot be made
  // (NOT_FOUND: no mesh asset; UNAVAILABLE: too many previews pending, or
  // shutting down), else on a preview thread once computed (INVALID_ARGUMENT
  // if the asset cannot be read as a mesh; RESOURCE_EXHAUSTED if too large).
  void Get(const v1::TwinVersion& version, Callback done) {
    Get(version, PreviewFormat::kLpv1, std::move(done));
  }
  // The same in `format`: kGlb is the LPV1 preview written as GLB (glb.h),
  // coloured by the version's assay alloy.
  void Get(const v1::TwinVersion& version, PreviewFormat format, Callback done);

  // Stops taking work; see above. Idempotent.
  void Shutdown();

 private:
  absl::StatusOr<std::string> Make(const v1::AssetRef& asset) const;
  // What a preview is made of and cached under.
  struct Job {
    v1::AssetRef asset;
    PreviewFormat format;
    std::string alloy;  // For kGlb's colour.
    std::string key;    // The cache key: digest, format, colour.
  };
  void Run(const Job& job);

  storage::Store* store_;
  const uint64_t max_triangles_;
  const Options options_;
  std::mutex mu_;
  bool stopping_ = false;                           // Guarded by mu_.
  std::unordered_map<std::string, Preview> cache_;  // Guarded by mu_.
  // Previews queued or being computed, by key: who waits for each.
  // Guarded by mu_, like pool_ (moved out by Shutdown).
  std::unordered_map<std::string, std::vector<Callback>> pending_;
  std::unique_ptr<WorkerPool> pool_;
};

}  // namespace loupe::server::http
