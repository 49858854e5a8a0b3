#pragma once

// A light preview of a mesh for the verify page's 3D view: vertex
// clustering (Rossignac and Borrel 1993). Vertices are snapped to a grid,
// each occupied cell becomes one vertex at the mean of its members, and
// triangles whose corners fall in fewer than three cells disappear. Fast
// (one hash pass), shape-faithful to the cell size, and never more
// detailed than the studio's file: it cannot be used to make the piece.

#include <cstddef>

#include "geometry/mesh.h"

namespace loupe::geometry {

struct Preview {
  Mesh mesh;
  double cell_mm = 0;  // The grid's cell size.
};

// At most `max_triangles` (>= 100): the grid starts at 1/200 of the
// bounding box's diagonal and coarsens by 1.4x until the result fits.
[[nodiscard]] Preview ClusterPreview(const Mesh& mesh, size_t max_triangles);

}  // namespace loupe::geometry
