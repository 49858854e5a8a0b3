#include "geometry/mesh_check.h"

#include <algorithm>
#include <vector>

namespace loupe::geometry {

MeshReport CheckMesh(const Mesh& mesh) {
  MeshReport report;
  report.vertices = mesh.vertices.size();
  report.triangles = mesh.triangles.size();
  std::vector<bool> used(mesh.vertices.size(), false);
  // (undirected edge key << 1) | direction, one per triangle side.
  std::vector<uint64_t> edges;
  edges.reserve(mesh.triangles.size() * 3);
  for (size_t t = 0; t < mesh.triangles.size(); ++t) {
    const Triangle& tri = mesh.triangles[t];
    const Vec3 n = Cross(mesh.Corner(t, 1) - mesh.Corner(t, 0),
                         mesh.Corner(t, 2) - mesh.Corner(t, 0));
    if (tri[0] == tri[1] || tri[1] == tri[2] || tri[0] == tri[2] ||
        Norm(n) < 2e-12) {
      ++report.degenerate_triangles;
    }
    for (int k = 0; k < 3; ++k) {
      used[tri[k]] = true;
      const uint32_t a = tri[k], b = tri[(k + 1) % 3];
      if (a == b) continue;
      const uint64_t key = (uint64_t{std::min(a, b)} << 32) | std::max(a, b);
      edges.push_back((key << 1) | (a < b ? 1 : 0));
    }
  }
  report.unused_vertices = std::count(used.begin(), used.end(), false);
  // Indices stay below 2^31 (ReadLimits), so the shift loses no bit.
  std::sort(edges.begin(), edges.end());
  for (size_t i = 0; i < edges.size();) {
    size_t j = i;
    int forward = 0;
    while (j < edges.size() && (edges[j] >> 1) == (edges[i] >> 1)) {
      forward += edges[j] & 1;
      ++j;
    }
    const size_t uses = j - i;
    if (uses == 1) ++report.boundary_edges;
    if (uses > 2) ++report.non_manifold_edges;
    if (uses == 2 && forward != 1) ++report.misoriented_edges;
    i = j;
  }
  return report;
}

}  // namespace loupe::geometry
