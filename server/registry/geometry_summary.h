#pragma once

// The geometry of a twin version, measured by the server: for every scan or
// CAD asset that is a mesh file (STL, OBJ, PLY by its file name), the
// canonical geometry hash and the measurements (geometry/), recorded in the
// version's `geometry` and so in its certificate. Measurements come from
// the GeometryCache (geometry_cache.h): each asset is measured once, on
// the geometry pool, never on a gRPC or storage thread.

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "geometry/read_mesh.h"
#include "loupe/v1/twin.pb.h"
#include "server/storage/store.h"

namespace loupe::server {

class GeometryCache;

// Whether an asset is a scan or CAD file the geometry code reads (STL, OBJ,
// PLY, STEP or 3MF, by its file name).
[[nodiscard]] bool IsMeshAsset(const v1::AssetRef& asset);

// The mesh format a file name implies: "stl", "obj", "ply", "step", "stp"
// or "3mf" (its extension, lower case), or "" for any other name.
[[nodiscard]] std::string MeshFormatOf(std::string_view file_name);

// Mesh assets larger than this are recorded without a summary.
inline constexpr uint64_t kMaxMeasuredMeshBytes = 512ull << 20;

// What measuring one mesh file found: `mesh_status` is OK and `summary`
// filled, or the reader's refusal (INVALID_ARGUMENT with its reason;
// RESOURCE_EXHAUSTED naming limits.max_mesh_triangles). Both are facts of
// the bytes and the format, so they are cached alike.
struct MeshMeasurement {
  absl::Status mesh_status;
  v1::GeometrySummary summary;  // asset_sha256 left empty.
};

// Parses `bytes` as the format `format` names (MeshFormatOf) within
// `max_triangles` and measures it, the geometry hash on `threads` threads.
// CPU-bound: seconds for the largest meshes. Thread-safe.
[[nodiscard]] MeshMeasurement MeasureMesh(std::string_view bytes,
                                          std::string_view format,
                                          uint64_t max_triangles, int threads);

// Fills `version`'s geometry from its mesh assets that `studio_id` uploaded
// (others are left to the store, which refuses them) and calls
// `done(version)`, once: inline when every summary is cached, else on a
// geometry pool thread. Errors: INVALID_ARGUMENT naming "<field>.assets[i]"
// when a mesh file is malformed (the reader's reason follows); DATA_LOSS
// if stored bytes fail their digests; meshes of more than
// limits.max_mesh_triangles are RESOURCE_EXHAUSTED naming the asset and
// the limit. The first failing asset, in order, is named.
using MeasuredVersionCallback =
    std::function<void(absl::StatusOr<v1::TwinVersion>)>;
void AddGeometrySummaries(GeometryCache& cache, storage::Store& store,
                          std::string_view studio_id, v1::TwinVersion version,
                          std::string field, MeasuredVersionCallback done);

// The server's mesh reading limits for `max_triangles`
// (limits.max_mesh_triangles): vertices at most three per triangle. A mesh
// over them is RESOURCE_EXHAUSTED naming the limit.
[[nodiscard]] absl::StatusOr<geometry::ReadMeshResult> ReadLimitedMesh(
    std::string_view bytes, std::string_view file_name, uint64_t max_triangles);

}  // namespace loupe::server
