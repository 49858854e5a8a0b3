#pragma once

// Edge topology of a triangle mesh without a sort of every side: the sides
// of each undirected edge, found by bucketing sides on their lower vertex.
// Used by the mesh checks (boundary, non-manifold and misoriented edges)
// and by the pseudonormals of signed distances.

#include <cstdint>
#include <vector>

#include "geometry/mesh.h"

namespace loupe::geometry {

// Side 3t + k of triangle t runs from its corner k to corner (k + 1) % 3.
struct EdgeSides {
  // Side ids, the sides of one undirected edge next to each other.
  std::vector<uint32_t> sides;
  // Edge e has sides[starts[e], starts[e + 1]); starts.back() ends the last.
  std::vector<uint32_t> starts;

  [[nodiscard]] size_t edge_count() const { return starts.size() - 1; }
};

// Groups every side of `mesh` by its undirected edge. Sides whose two ends
// are the same vertex are left out. Vertex indices must be valid.
[[nodiscard]] EdgeSides GroupSidesByEdge(const Mesh& mesh);

}  // namespace loupe::geometry
