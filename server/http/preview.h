#pragma once

// The verify page's 3D view draws a decimated preview of a version's first
// mesh asset (geometry/simplify.h), never the studio's file: at most 50,000
// triangles, about 1/200 of the piece's size per cell at best. Binary,
// little-endian: "LPV1", uint32 vertex count, uint32 triangle count, float32
// x y z per vertex (mm), uint32 corners per triangle. Previews are kept in
// memory by asset digest (the 32 most recent). Thread-safe.

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "loupe/v1/twin.pb.h"
#include "server/storage/store.h"

namespace loupe::server::http {

inline constexpr size_t kPreviewTriangles = 50000;

class PreviewCache {
 public:
  // Meshes over `max_triangles` (limits.max_mesh_triangles) get no preview
  // (RESOURCE_EXHAUSTED).
  PreviewCache(storage::Store* store, uint64_t max_triangles)
      : store_(store), max_triangles_(max_triangles) {}
  // NOT_FOUND if the version has no mesh asset; INVALID_ARGUMENT if it
  // cannot be read as one.
  [[nodiscard]] absl::StatusOr<std::shared_ptr<const std::string>> For(
      const v1::TwinVersion& version);

 private:
  storage::Store* store_;
  const uint64_t max_triangles_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> cache_;
};

}  // namespace loupe::server::http
