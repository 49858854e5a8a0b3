#pragma once

// The geometry of a twin version, measured by the server: for every scan or
// CAD asset that is a mesh file (STL, OBJ, PLY by its file name), the
// canonical geometry hash and the measurements (geometry/), recorded in the
// version's `geometry` and so in its certificate.

#include <string_view>

#include "absl/status/status.h"
#include "geometry/read_mesh.h"
#include "loupe/v1/twin.pb.h"
#include "server/storage/store.h"

namespace loupe::server {

// Whether an asset is a scan or CAD mesh the geometry code reads (STL, OBJ
// or PLY, by its file name).
[[nodiscard]] bool IsMeshAsset(const v1::AssetRef& asset);

// Mesh assets larger than this are recorded without a summary.
inline constexpr uint64_t kMaxMeasuredMeshBytes = 512ull << 20;

// Fills version->geometry from its mesh assets that `studio_id` uploaded
// (others are left to the store, which refuses them). INVALID_ARGUMENT
// naming "<field>.assets[i]" when a mesh file is malformed (the reader's
// reason follows); DATA_LOSS if stored bytes fail their digests.
// Meshes of more than `max_triangles` are refused (RESOURCE_EXHAUSTED
// naming the asset and limits.max_mesh_triangles).
[[nodiscard]] absl::Status AddGeometrySummaries(storage::Store& store,
                                                std::string_view studio_id,
                                                v1::TwinVersion* version,
                                                std::string_view field,
                                                uint64_t max_triangles);

// The server's mesh reading limits for `max_triangles`
// (limits.max_mesh_triangles): vertices at most three per triangle. A mesh
// over them is RESOURCE_EXHAUSTED naming the limit.
[[nodiscard]] absl::StatusOr<geometry::ReadMeshResult> ReadLimitedMesh(
    std::string_view bytes, std::string_view file_name, uint64_t max_triangles);

}  // namespace loupe::server
