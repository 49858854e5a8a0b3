#include "geometry/mesh_check.h"

#include <algorithm>
#include <vector>

namespace loupe::geometry {

MeshReport CheckMesh(const Mesh& mesh) {
  MeshReport report;
  const size_t n = mesh.vertices.size();
  report.vertices = n;
  report.triangles = mesh.triangles.size();
  // Every side a -> b (a != b) in a bucket of its first vertex, by a
  // counting sort: `start` delimits the buckets of `to`.
  std::vector<uint32_t> start(n + 1, 0);
  std::vector<uint8_t> used(n, 0);
  for (size_t t = 0; t < mesh.triangles.size(); ++t) {
    const Triangle& tri = mesh.triangles[t];
    const Vec3 normal = Cross(mesh.Corner(t, 1) - mesh.Corner(t, 0),
                              mesh.Corner(t, 2) - mesh.Corner(t, 0));
    if (tri[0] == tri[1] || tri[1] == tri[2] || tri[0] == tri[2] ||
        Dot(normal, normal) < 4e-24) {  // |normal| < 2e-12
      ++report.degenerate_triangles;
    }
    for (int k = 0; k < 3; ++k) {
      used[tri[k]] = 1;
      if (tri[k] != tri[(k + 1) % 3]) ++start[tri[k] + 1];
    }
  }
  report.unused_vertices = std::count(used.begin(), used.end(), 0);
  for (size_t v = 1; v <= n; ++v) start[v] += start[v - 1];
  std::vector<uint32_t> to(start[n]);
  {
    std::vector<uint32_t> fill(start.begin(), start.end() - 1);
    for (const Triangle& tri : mesh.triangles) {
      for (int k = 0; k < 3; ++k) {
        const uint32_t a = tri[k], b = tri[(k + 1) % 3];
        if (a != b) to[fill[a]++] = b;
      }
    }
  }
  auto count = [&](uint32_t from, uint32_t target) {
    uint32_t c = 0;
    for (uint32_t i = start[from]; i < start[from + 1]; ++i) {
      c += to[i] == target ? 1 : 0;
    }
    return c;
  };
  // Each undirected edge {a, b} once: from its lower end, or from its upper
  // end when no side leaves the lower one.
  for (uint32_t a = 0; a < n; ++a) {
    for (uint32_t i = start[a]; i < start[a + 1]; ++i) {
      const uint32_t b = to[i];
      if (std::find(to.begin() + start[a], to.begin() + i, b) !=
          to.begin() + i) {
        continue;  // This side's edge is counted at its first listing.
      }
      // Counted at the lower end already: no need to count this way.
      const uint32_t backward = count(b, a);
      if (b < a && backward > 0) continue;
      const uint32_t forward = count(a, b);
      const uint32_t uses = forward + backward;
      if (uses == 1) ++report.boundary_edges;
      if (uses > 2) ++report.non_manifold_edges;
      // Two sides running the same way: the faces disagree on the inside.
      if (uses == 2 && forward != 1) ++report.misoriented_edges;
    }
  }
  return report;
}

}  // namespace loupe::geometry
