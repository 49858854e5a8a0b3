#include "geometry/mesh_check.h"

#include <algorithm>
#include <vector>

#include "geometry/topology.h"

namespace loupe::geometry {

MeshReport CheckMesh(const Mesh& mesh) {
  MeshReport report;
  report.vertices = mesh.vertices.size();
  report.triangles = mesh.triangles.size();
  std::vector<uint8_t> used(mesh.vertices.size(), 0);
  for (size_t t = 0; t < mesh.triangles.size(); ++t) {
    const Triangle& tri = mesh.triangles[t];
    const Vec3 n = Cross(mesh.Corner(t, 1) - mesh.Corner(t, 0),
                         mesh.Corner(t, 2) - mesh.Corner(t, 0));
    if (tri[0] == tri[1] || tri[1] == tri[2] || tri[0] == tri[2] ||
        Dot(n, n) < 4e-24) {  // |n| < 2e-12
      ++report.degenerate_triangles;
    }
    for (int k = 0; k < 3; ++k) used[tri[k]] = 1;
  }
  report.unused_vertices = std::count(used.begin(), used.end(), 0);
  const EdgeSides edges = GroupSidesByEdge(mesh);
  for (size_t e = 0; e < edges.edge_count(); ++e) {
    const uint32_t begin = edges.starts[e], end = edges.starts[e + 1];
    int forward = 0;  // Sides running from the lower vertex to the upper.
    for (uint32_t i = begin; i < end; ++i) {
      const Triangle& tri = mesh.triangles[edges.sides[i] / 3];
      const uint32_t k = edges.sides[i] % 3;
      forward += tri[k] < tri[(k + 1) % 3] ? 1 : 0;
    }
    const uint32_t uses = end - begin;
    if (uses == 1) ++report.boundary_edges;
    if (uses > 2) ++report.non_manifold_edges;
    if (uses == 2 && forward != 1) ++report.misoriented_edges;
  }
  return report;
}

}  // namespace loupe::geometry
