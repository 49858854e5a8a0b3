#include "geometry/mesh_check.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "base/prefault.h"

namespace loupe::geometry {
namespace {

// Counts each undirected edge's sides into `report`. Every side a -> b
// (a != b) is listed under its edge's lower end as (upper end << 1 |
// direction), direction 0 running from the lower end to the upper: an
// edge's sides share a bucket, so each bucket is classified on its own.
// Entry is uint32_t when every vertex number fits in 31 bits.
// `begin[v + 2]` holds the number of sides under vertex v.
template <typename Entry>
void CountEdges(const Mesh& mesh, std::vector<uint32_t> begin,
                MeshReport* report) {
  const size_t n = mesh.vertices.size();
  // Bucket v is [begin[v], begin[v + 1]) once the sides are placed.
  for (size_t v = 2; v < begin.size(); ++v) begin[v] += begin[v - 1];
  std::vector<Entry> sides;  // Written out of order.
  ResizeOnHugePages(&sides, begin[n + 1]);
  for (const Triangle& tri : mesh.triangles) {
    for (int k = 0; k < 3; ++k) {
      const uint32_t a = tri[k], b = tri[(k + 1) % 3];
      if (a == b) continue;
      sides[begin[std::min(a, b) + 1]++] =
          a < b ? Entry{b} << 1 : (Entry{a} << 1 | 1);
    }
  }
  // One edge's sides, `forward` of them from the lower end.
  auto classify = [&](uint32_t forward, uint32_t uses) {
    if (uses == 1) ++report->boundary_edges;
    if (uses > 2) ++report->non_manifold_edges;
    // Two sides running the same way: the faces disagree on the inside.
    if (uses == 2 && forward != 1) ++report->misoriented_edges;
  };
  for (size_t v = 0; v < n; ++v) {
    Entry* first = sides.data() + begin[v];
    Entry* last = sides.data() + begin[v + 1];
    // A vertex with many edges (a hostile fan): sorted, so that each
    // edge's sides are one run, instead of searched.
    if (last - first > 32) {
      std::sort(first, last);
      for (Entry* e = first; e < last;) {
        Entry* run = e;
        uint32_t forward = 0;
        for (; run < last && *run >> 1 == *e >> 1; ++run) {
          forward += (*run & 1) == 0 ? 1 : 0;
        }
        classify(forward, static_cast<uint32_t>(run - e));
        e = run;
      }
      continue;
    }
    for (Entry* e = first; e < last; ++e) {
      const Entry upper = *e >> 1;
      if (std::find_if(first, e, [&](Entry x) { return x >> 1 == upper; }) !=
          e) {
        continue;  // This edge was counted at its first side.
      }
      uint32_t forward = 0, uses = 0;
      for (Entry* s = e; s < last; ++s) {
        if (*s >> 1 != upper) continue;
        ++uses;
        forward += (*s & 1) == 0 ? 1 : 0;
      }
      classify(forward, uses);
    }
  }
}

}  // namespace

MeshReport CheckMesh(const Mesh& mesh) {
  MeshReport report;
  const size_t n = mesh.vertices.size();
  report.vertices = n;
  report.triangles = mesh.triangles.size();
  std::vector<uint8_t> used(n, 0);
  std::vector<uint32_t> side_counts(n + 2, 0);
  for (size_t t = 0; t < mesh.triangles.size(); ++t) {
    const Triangle& tri = mesh.triangles[t];
    const Vec3 normal = Cross(mesh.Corner(t, 1) - mesh.Corner(t, 0),
                              mesh.Corner(t, 2) - mesh.Corner(t, 0));
    if (tri[0] == tri[1] || tri[1] == tri[2] || tri[0] == tri[2] ||
        Dot(normal, normal) < 4e-24) {  // |normal| < 2e-12
      ++report.degenerate_triangles;
    }
    for (int k = 0; k < 3; ++k) {
      const uint32_t a = tri[k], b = tri[(k + 1) % 3];
      used[a] = 1;
      if (a != b) ++side_counts[std::min(a, b) + 2];
    }
  }
  report.unused_vertices = std::count(used.begin(), used.end(), 0);
  if (n < (size_t{1} << 31)) {
    CountEdges<uint32_t>(mesh, std::move(side_counts), &report);
  } else {
    CountEdges<uint64_t>(mesh, std::move(side_counts), &report);
  }
  return report;
}

}  // namespace loupe::geometry
