#include "geometry/deviation.h"

#include <algorithm>
#include <cmath>
#include <thread>

namespace loupe::geometry {

std::vector<double> VertexAreas(const Mesh& mesh) {
  std::vector<double> areas(mesh.vertices.size(), 0.0);
  for (size_t t = 0; t < mesh.triangles.size(); ++t) {
    const double a = 0.5 * Norm(Cross(mesh.Corner(t, 1) - mesh.Corner(t, 0),
                                      mesh.Corner(t, 2) - mesh.Corner(t, 0)));
    for (int k = 0; k < 3; ++k) areas[mesh.triangles[t][k]] += a / 3;
  }
  return areas;
}

Deviation MeasureDeviation(const Mesh& mesh, const MeshDistance& reference,
                           double tolerance, int threads) {
  Deviation out;
  const size_t n = mesh.vertices.size();
  out.per_vertex.resize(n);
  threads = std::max(1, threads);
  std::vector<std::thread> workers;
  for (int w = 0; w < threads; ++w) {
    // Each worker takes a run of vertices: consecutive vertices of a mesh
    // are mostly neighbours, so each answer is a good start for the next.
    workers.emplace_back([&, w] {
      const size_t begin = n * w / threads, end = n * (w + 1) / threads;
      uint32_t hint = 0;
      for (size_t i = begin; i < end; ++i) {
        const ClosestPoint c = reference.ClosestNear(mesh.vertices[i], hint);
        out.per_vertex[i] = c.signed_distance;
        hint = c.triangle;
      }
    });
  }
  for (auto& t : workers) t.join();

  const std::vector<double> areas = VertexAreas(mesh);
  std::vector<std::pair<double, double>> by_size;  // (|d|, area)
  by_size.reserve(n);
  double total = 0, sum = 0, sum_abs = 0, sum2 = 0, within = 0;
  DeviationStats& s = out.stats;
  for (size_t i = 0; i < n; ++i) {
    if (areas[i] <= 0) continue;
    const double d = out.per_vertex[i], w = areas[i];
    ++s.samples;
    total += w;
    sum += w * d;
    sum_abs += w * std::abs(d);
    sum2 += w * d * d;
    if (std::abs(d) <= tolerance) within += w;
    if (std::abs(d) > s.max_abs) {
      s.max_abs = std::abs(d);
      s.worst_point = mesh.vertices[i];
    }
    s.max_outside = std::max(s.max_outside, d);
    s.max_inside = std::min(s.max_inside, d);
    by_size.push_back({std::abs(d), w});
  }
  if (total <= 0) return out;
  s.mean_signed = sum / total;
  s.mean_abs = sum_abs / total;
  s.rms = std::sqrt(sum2 / total);
  s.within_tolerance = within / total;
  std::sort(by_size.begin(), by_size.end());
  double seen = 0;
  bool p95 = false;
  for (const auto& [d, w] : by_size) {
    seen += w;
    if (!p95 && seen >= 0.95 * total) {
      s.p95_abs = d;
      p95 = true;
    }
    if (seen >= 0.99 * total) {
      s.p99_abs = d;
      break;
    }
  }
  if (s.p99_abs == 0) s.p99_abs = by_size.back().first;
  return out;
}

}  // namespace loupe::geometry
