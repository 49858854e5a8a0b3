#include "geometry/topology.h"

#include <algorithm>

namespace loupe::geometry {

EdgeSides GroupSidesByEdge(const Mesh& mesh) {
  const size_t n = mesh.triangles.size();
  // Counting sort of the sides on their lower vertex...
  std::vector<uint32_t> bucket_start(mesh.vertices.size() + 1, 0);
  for (const Triangle& t : mesh.triangles) {
    for (int k = 0; k < 3; ++k) {
      const uint32_t a = t[k], b = t[(k + 1) % 3];
      if (a != b) ++bucket_start[std::min(a, b) + 1];
    }
  }
  for (size_t v = 1; v < bucket_start.size(); ++v) {
    bucket_start[v] += bucket_start[v - 1];
  }
  // ...each entry the upper vertex (high half) and the side id.
  std::vector<uint64_t> entries(bucket_start.back());
  std::vector<uint32_t> fill(bucket_start.begin(), bucket_start.end() - 1);
  for (uint32_t t = 0; t < n; ++t) {
    const Triangle& tri = mesh.triangles[t];
    for (uint32_t k = 0; k < 3; ++k) {
      const uint32_t a = tri[k], b = tri[(k + 1) % 3];
      if (a == b) continue;
      entries[fill[std::min(a, b)]++] =
          (uint64_t{std::max(a, b)} << 32) | (3 * t + k);
    }
  }
  // Then each bucket (a vertex's edges, a handful) sorted on the upper
  // vertex, and runs of the same upper vertex are one edge.
  EdgeSides out;
  out.sides.reserve(entries.size());
  out.starts.reserve(entries.size() / 2 + 2);
  for (size_t v = 0; v + 1 < bucket_start.size(); ++v) {
    const auto begin = entries.begin() + bucket_start[v];
    const auto end = entries.begin() + bucket_start[v + 1];
    // Insertion sort: a bucket holds a handful of sides.
    for (auto it = begin + (begin != end); it < end; ++it) {
      const uint64_t entry = *it;
      auto hole = it;
      for (; hole > begin && *(hole - 1) > entry; --hole) *hole = *(hole - 1);
      *hole = entry;
    }
    for (auto it = begin; it != end; ++it) {
      if (it == begin || (*it >> 32) != (*(it - 1) >> 32)) {
        out.starts.push_back(static_cast<uint32_t>(out.sides.size()));
      }
      out.sides.push_back(static_cast<uint32_t>(*it));
    }
  }
  out.starts.push_back(static_cast<uint32_t>(out.sides.size()));
  return out;
}

}  // namespace loupe::geometry
