#pragma once

// The canonical geometry hash: the same surface gives the same hash
// whatever the file format (STL, OBJ, PLY), vertex order or triangle order.
// Each corner is rounded to the quantum grid (1 um; coordinates in mm),
// each triangle is rotated to start at its smallest corner (keeping its
// orientation), degenerate triangles are dropped, the triangles are sorted,
// and SHA-256 is taken over "loupe-geometry-v2 quantum_um=1\n" followed by
// the corners as little-endian int32 micrometres; when a hashed coordinate
// lies beyond int32 (2.1 km), over "loupe-geometry-v2 quantum_um=1 int64\n"
// and int64s instead. Moving any vertex by more than the quantum changes the
// hash; a smaller move changes it only if it crosses a grid line.
// Documented in docs/geometry.md (with v1, the int64-only encoding).

#include <string>

#include "geometry/mesh.h"

namespace loupe::geometry {

inline constexpr double kGeometryQuantumMm = 0.001;

// Lower-case hex SHA-256. A large mesh's passes run on `threads` threads
// (at least one); the hash does not depend on them.
[[nodiscard]] std::string CanonicalGeometryHash(const Mesh& mesh,
                                                int threads = 2);

}  // namespace loupe::geometry
