#include "geometry/simplify.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "geometry/measure.h"

namespace loupe::geometry {
namespace {

Preview Cluster(const Mesh& mesh, const Vec3& origin, double cell) {
  Preview out;
  out.cell_mm = cell;
  std::unordered_map<uint64_t, uint32_t> cell_index;
  std::vector<uint32_t> vertex_cell(mesh.vertices.size());
  std::vector<Vec3> sums;
  std::vector<uint32_t> counts;
  for (size_t i = 0; i < mesh.vertices.size(); ++i) {
    const Vec3 u = (mesh.vertices[i] - origin) / cell;
    const uint64_t key = (static_cast<uint64_t>(std::max(0.0, u.x)) << 42) |
                         (static_cast<uint64_t>(std::max(0.0, u.y)) << 21) |
                         static_cast<uint64_t>(std::max(0.0, u.z));
    auto [it, added] =
        cell_index.emplace(key, static_cast<uint32_t>(sums.size()));
    if (added) {
      sums.push_back({});
      counts.push_back(0);
    }
    sums[it->second] += mesh.vertices[i];
    ++counts[it->second];
    vertex_cell[i] = it->second;
  }
  out.mesh.vertices.resize(sums.size());
  for (size_t c = 0; c < sums.size(); ++c) {
    out.mesh.vertices[c] = sums[c] / counts[c];
  }
  std::unordered_set<uint64_t> seen;  // Triangles kept, by sorted corners.
  for (const auto& t : mesh.triangles) {
    const uint32_t a = vertex_cell[t[0]], b = vertex_cell[t[1]],
                   c = vertex_cell[t[2]];
    if (a == b || b == c || a == c) continue;
    uint32_t k[3] = {a, b, c};
    std::sort(k, k + 3);
    // Cells are fewer than 2^21 here (checked by the caller's budget).
    const uint64_t key = (uint64_t{k[0]} << 42) | (uint64_t{k[1]} << 21) | k[2];
    if (!seen.insert(key).second) continue;
    out.mesh.triangles.push_back({a, b, c});
  }
  return out;
}

}  // namespace

Preview ClusterPreview(const Mesh& mesh, size_t max_triangles) {
  max_triangles = std::max<size_t>(max_triangles, 100);
  if (mesh.vertices.empty()) return {};
  Vec3 lo = mesh.vertices[0], hi = mesh.vertices[0];
  for (const auto& v : mesh.vertices) {
    lo = Min(lo, v);
    hi = Max(hi, v);
  }
  const double diagonal = std::max(Norm(hi - lo), 1e-9);
  // 2^21 cells per axis at most: the keys stay unique.
  double cell = std::max(diagonal / 200, diagonal / 1e6);
  while (true) {
    Preview p = Cluster(mesh, lo, cell);
    if (p.mesh.triangles.size() <= max_triangles &&
        p.mesh.vertices.size() < (1u << 21)) {
      return p;
    }
    cell *= 1.4;
  }
}

}  // namespace loupe::geometry
