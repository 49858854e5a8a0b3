#pragma once

// Strict readers for the mesh files studios upload: STL (binary and
// ASCII), OBJ and PLY (ASCII, binary little- and big-endian). Hostile input
// gets a clear error, never a crash or an allocation larger than the file
// justifies: declared counts are checked against the bytes present and the
// limits before anything is reserved; coordinates must be finite; indices
// must be in range. Nothing is repaired silently: STL's unshared corners
// are welded only where they are bit-identical.
//
// Errors: INVALID_ARGUMENT naming the format and where ("STL: ...",
// "OBJ line 12: ...", "PLY vertex 3: ..."); RESOURCE_EXHAUSTED when a limit
// is exceeded; NOT_FOUND for an unreadable path. Thread-safe (no state).

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "geometry/mesh.h"

namespace loupe::geometry {

enum class MeshFormat {
  kStlBinary,
  kStlAscii,
  kObj,
  kPlyAscii,
  kPlyBinaryLittleEndian,
  kPlyBinaryBigEndian,
};

[[nodiscard]] const char* MeshFormatName(MeshFormat format);

struct ReadLimits {
  uint64_t max_vertices = 50'000'000;
  uint64_t max_triangles = 50'000'000;
};

struct ReadMeshResult {
  Mesh mesh;
  MeshFormat format = MeshFormat::kStlBinary;
};

// Parses `bytes`. The format comes from the content ("ply" magic; "solid"
// with a size that is not binary STL's; OBJ's "v "/"f " lines), with
// `file_name`'s extension breaking ties.
[[nodiscard]] absl::StatusOr<ReadMeshResult> ParseMesh(
    std::string_view bytes, std::string_view file_name = "",
    const ReadLimits& limits = {});

[[nodiscard]] absl::StatusOr<ReadMeshResult> ReadMeshFile(
    const std::string& path, const ReadLimits& limits = {});

}  // namespace loupe::geometry
