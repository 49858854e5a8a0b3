#pragma once

// The canonical geometry hash: the same surface gives the same hash
// whatever the file format (STL, OBJ, PLY, ...), vertex order or triangle
// order. Version 3: each coordinate is rounded to float32 (STL's precision,
// so that an ASCII STL and its binary conversion agree), then to the
// quantum grid (1 um; coordinates in mm); each triangle is rotated to start
// at its smallest corner (keeping its orientation), degenerate triangles
// are dropped, the triangles are sorted, and SHA-256 is taken over
// "loupe-geometry-v3 quantum_um=1 float32\n" followed by the corners as
// little-endian int32 micrometres; when a hashed coordinate lies beyond
// int32 (2.1 km), over "loupe-geometry-v3 quantum_um=1 float32 int64\n"
// and int64s instead. Version 2 (summaries recorded before version 3) is
// the same without the float32 step, over "loupe-geometry-v2
// quantum_um=1\n" (or "... int64\n"). Moving any vertex by more than the
// quantum changes the hash; a smaller move changes it only if it crosses a
// grid line. Documented in docs/geometry.md (with v1, an older encoding).

#include <optional>
#include <string>

#include "geometry/mesh.h"

namespace loupe::geometry {

inline constexpr double kGeometryQuantumMm = 0.001;

// Hashes are labelled with their version wherever they are stored
// (GeometrySummary.geometry_hash_version; absent means 2).
enum class GeometryHashVersion : int { kV2 = 2, kV3 = 3 };
inline constexpr GeometryHashVersion kGeometryHashVersion =
    GeometryHashVersion::kV3;

// The version a stored label names (0, absent, is 2), or nullopt for a
// version this build does not know.
[[nodiscard]] std::optional<GeometryHashVersion> GeometryHashVersionOf(
    int label);

// Lower-case hex SHA-256. A large mesh's passes run on `threads` threads
// (at least one); the hash does not depend on them.
[[nodiscard]] std::string CanonicalGeometryHash(
    const Mesh& mesh, int threads = 2,
    GeometryHashVersion version = kGeometryHashVersion);

}  // namespace loupe::geometry
