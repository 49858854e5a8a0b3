#pragma once

// Topology and hygiene of a mesh, reported, never repaired: a watertight,
// consistently oriented 2-manifold is what volume, signed distances and
// verdicts need.

#include <cstdint>

#include "geometry/mesh.h"

namespace loupe::geometry {

struct MeshReport {
  uint64_t vertices = 0;
  uint64_t triangles = 0;
  // A repeated corner, or an area below 1e-12 mm^2.
  uint64_t degenerate_triangles = 0;
  uint64_t unused_vertices = 0;
  // Edges used by one triangle (holes) and by more than two.
  uint64_t boundary_edges = 0;
  uint64_t non_manifold_edges = 0;
  // Edges whose two triangles traverse them in the same direction.
  uint64_t misoriented_edges = 0;

  [[nodiscard]] bool watertight() const {
    return boundary_edges == 0 && non_manifold_edges == 0;
  }
  [[nodiscard]] bool manifold() const { return non_manifold_edges == 0; }
  [[nodiscard]] bool consistently_oriented() const {
    return misoriented_edges == 0 && non_manifold_edges == 0;
  }
};

[[nodiscard]] MeshReport CheckMesh(const Mesh& mesh);

}  // namespace loupe::geometry
