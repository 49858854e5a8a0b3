#include "geometry/deviation.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

#include "geometry/in_runs.h"

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

namespace {

// WeightedQuantiles over value(i) for i < n.
template <typename Value>
std::vector<double> QuantilesOf(size_t n, Value&& value,
                                const std::vector<double>& weights,
                                const std::vector<double>& q) {
  // A histogram finds the bin each quantile falls in; only that bin's
  // values are sorted.
  constexpr int kBins = 4096;
  double lo = INFINITY, hi = -INFINITY, total = 0;
  for (size_t i = 0; i < n; ++i) {
    if (weights[i] <= 0) continue;
    lo = std::min(lo, value(i));
    hi = std::max(hi, value(i));
    total += weights[i];
  }
  std::vector<double> out(q.size(), 0.0);
  if (total <= 0) return out;
  const double scale = hi > lo ? kBins / (hi - lo) : 0;
  auto bin = [&](double v) {
    return std::min(kBins - 1, static_cast<int>((v - lo) * scale));
  };
  std::vector<double> mass(kBins, 0.0);
  for (size_t i = 0; i < n; ++i) {
    if (weights[i] > 0) mass[bin(value(i))] += weights[i];
  }
  // Each quantile's bin and the mass below it; then one pass collects the
  // values of those bins.
  std::vector<int> bin_of(q.size());
  std::vector<double> below_bin(q.size());
  for (size_t j = 0; j < q.size(); ++j) {
    const double target = q[j] * total;
    double below = 0;
    int b = 0;
    while (b < kBins - 1 && below + mass[b] < target) below += mass[b++];
    bin_of[j] = b;
    below_bin[j] = below;
  }
  std::vector<std::vector<std::pair<double, double>>> in_bin(q.size());
  for (size_t i = 0; i < n; ++i) {
    if (!(weights[i] > 0)) continue;
    const int b = bin(value(i));
    for (size_t j = 0; j < q.size(); ++j) {
      if (bin_of[j] == b) in_bin[j].push_back({value(i), weights[i]});
    }
  }
  for (size_t j = 0; j < q.size(); ++j) {
    auto& pairs = in_bin[j];
    std::sort(pairs.begin(), pairs.end());
    out[j] = pairs.empty() ? hi : pairs.back().first;
    double below = below_bin[j];
    for (const auto& [v, w] : pairs) {
      below += w;
      if (below >= q[j] * total) {
        out[j] = v;
        break;
      }
    }
  }
  return out;
}

}  // namespace

std::vector<double> WeightedQuantiles(const std::vector<double>& values,
                                      const std::vector<double>& weights,
                                      const std::vector<double>& q) {
  return QuantilesOf(
      values.size(), [&](size_t i) { return values[i]; }, weights, q);
}

Deviation MeasureDeviation(const Mesh& mesh, const MeshDistance& reference,
                           double tolerance, int threads,
                           const std::vector<double>* given_areas) {
  Deviation out;
  const size_t n = mesh.vertices.size();
  out.per_vertex.resize(n);
  out.closest_triangle.resize(n);
  std::vector<double> own_areas;
  if (given_areas == nullptr) own_areas = VertexAreas(mesh);
  const std::vector<double>& areas = given_areas ? *given_areas : own_areas;
  // Each worker's sums over its run, added up in run order afterwards.
  struct Sums {
    uint64_t samples = 0;
    double total = 0, sum = 0, sum_abs = 0, sum2 = 0, within = 0;
    double max_abs = 0, max_outside = 0, max_inside = 0;
    size_t worst = 0;
  };
  // Vertices in chunks of consecutive ones (mostly neighbours, so each
  // answer is a good start for the next), taken by the threads in turn as
  // they finish; each chunk's sums are added up in chunk order afterwards,
  // so the result does not depend on the threads.
  constexpr size_t kChunk = 16384;
  const size_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<Sums> sums(chunks);
  std::atomic<size_t> next_chunk = 0;
  OnThreads(threads, [&](int) {
    for (size_t chunk; (chunk = next_chunk.fetch_add(1)) < chunks;) {
      Sums r;  // Here, not in `sums`: the stores below cannot alias it.
      const size_t begin = chunk * kChunk, end = std::min(n, begin + kChunk);
      uint32_t hint = reference.Closest(mesh.vertices[begin]).triangle;
      for (size_t i = begin; i < end; ++i) {
        const ClosestPoint c = reference.ClosestNear(mesh.vertices[i], hint);
        out.per_vertex[i] = c.signed_distance;
        out.closest_triangle[i] = hint = c.triangle;
        const double d = c.signed_distance, w = areas[i];
        if (w <= 0) continue;
        ++r.samples;
        r.total += w;
        r.sum += w * d;
        r.sum_abs += w * std::abs(d);
        r.sum2 += w * d * d;
        if (std::abs(d) <= tolerance) r.within += w;
        if (std::abs(d) > r.max_abs) {
          r.max_abs = std::abs(d);
          r.worst = i;
        }
        r.max_outside = std::max(r.max_outside, d);
        r.max_inside = std::min(r.max_inside, d);
      }
      sums[chunk] = r;
    }
  });
  Sums all;
  for (const Sums& r : sums) {
    all.samples += r.samples;
    all.total += r.total;
    all.sum += r.sum;
    all.sum_abs += r.sum_abs;
    all.sum2 += r.sum2;
    all.within += r.within;
    if (r.max_abs > all.max_abs) {
      all.max_abs = r.max_abs;
      all.worst = r.worst;
    }
    all.max_outside = std::max(all.max_outside, r.max_outside);
    all.max_inside = std::min(all.max_inside, r.max_inside);
  }
  DeviationStats& s = out.stats;
  s.samples = all.samples;
  if (all.total <= 0) return out;
  s.max_abs = all.max_abs;
  s.worst_point = mesh.vertices[all.worst];
  s.max_outside = all.max_outside;
  s.max_inside = all.max_inside;
  s.mean_signed = all.sum / all.total;
  s.mean_abs = all.sum_abs / all.total;
  s.rms = std::sqrt(all.sum2 / all.total);
  s.within_tolerance = all.within / all.total;
  const std::vector<double> p =
      QuantilesOf(n, [&](size_t i) { return std::abs(out.per_vertex[i]); },
                  areas, {0.95, 0.99});
  s.p95_abs = p[0];
  s.p99_abs = p[1];
  return out;
}

double Coverage(const Mesh& reference, const Mesh& mesh,
                const Deviation& mesh_to_reference, double radius, int threads,
                const std::vector<double>* reference_areas) {
  const double r2 = radius * radius;
  // Flags set by several threads at once: relaxed atomic stores (plain
  // byte stores on common hardware).
  auto set = [](uint8_t& flag) {
    std::atomic_ref<uint8_t>(flag).store(1, std::memory_order_relaxed);
  };
  std::vector<uint8_t> on_surface(mesh.vertices.size(), 0);
  InRuns(mesh.triangles.size(), threads, [&](int, size_t begin, size_t end) {
    for (size_t t = begin; t < end; ++t) {
      for (uint32_t v : mesh.triangles[t]) set(on_surface[v]);
    }
  });
  std::vector<uint8_t> covered(reference.vertices.size(), 0);
  InRuns(mesh.vertices.size(), threads, [&](int, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      if (!on_surface[i]) continue;
      const Triangle& t =
          reference.triangles[mesh_to_reference.closest_triangle[i]];
      for (uint32_t v : t) {
        const Vec3 d = reference.vertices[v] - mesh.vertices[i];
        if (Dot(d, d) <= r2) set(covered[v]);
      }
    }
  });
  std::vector<double> own_areas;
  if (reference_areas == nullptr) own_areas = VertexAreas(reference);
  const std::vector<double>& areas =
      reference_areas ? *reference_areas : own_areas;
  std::vector<uint32_t> open;
  for (uint32_t v = 0; v < reference.vertices.size(); ++v) {
    if (!covered[v] && areas[v] > 0) open.push_back(v);
  }
  if (!open.empty()) {
    const MeshDistance surface(mesh, /*signs=*/false);
    InRuns(open.size(), threads, [&](int, size_t begin, size_t end) {
      ClosestPoint c;
      for (size_t i = begin; i < end; ++i) {
        if (surface.ClosestWithin(reference.vertices[open[i]], radius, &c)) {
          covered[open[i]] = 1;
        }
      }
    });
  }
  double total = 0, within = 0;
  for (size_t v = 0; v < areas.size(); ++v) {
    total += areas[v];
    if (covered[v]) within += areas[v];
  }
  return total > 0 ? within / total : 0;
}

}  // namespace loupe::geometry
