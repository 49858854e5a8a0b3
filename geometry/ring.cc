#include "geometry/ring.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "base/str_cat.h"
#include "geometry/measure.h"

namespace loupe::geometry {
namespace {

struct Point2 {
  double u, v;
};

// A closed contour of the slice, in the plane's (u, v) coordinates.
using Loop = std::vector<Point2>;

double Area(const Loop& loop) {
  double a = 0;
  for (size_t i = 0; i < loop.size(); ++i) {
    const Point2& p = loop[i];
    const Point2& q = loop[(i + 1) % loop.size()];
    a += p.u * q.v - q.u * p.v;
  }
  return std::abs(a) / 2;
}

// Kasa least-squares circle fit; returns (center u, center v, radius).
std::array<double, 3> FitCircle(const Loop& loop) {
  double su = 0, sv = 0;
  for (const auto& p : loop) {
    su += p.u;
    sv += p.v;
  }
  const double mu = su / loop.size(), mv = sv / loop.size();
  double suu = 0, svv = 0, suv = 0, suuu = 0, svvv = 0, suvv = 0, svuu = 0;
  for (const auto& p : loop) {
    const double u = p.u - mu, v = p.v - mv;
    suu += u * u;
    svv += v * v;
    suv += u * v;
    suuu += u * u * u;
    svvv += v * v * v;
    suvv += u * v * v;
    svuu += v * u * u;
  }
  const double bu = (suuu + suvv) / 2, bv = (svvv + svuu) / 2;
  const double det = suu * svv - suv * suv;
  const double uc = (bu * svv - bv * suv) / det;
  const double vc = (bv * suu - bu * suv) / det;
  const double r = std::sqrt(uc * uc + vc * vc + (suu + svv) / loop.size());
  return {uc + mu, vc + mv, r};
}

// The circle fit with outliers left out: points further from the circle
// than max(10 µm, 2.5 x 1.4826 x their median distance), an engraving's
// groove or a bead of scan noise, are dropped and the circle refitted
// (three rounds). A ring gauge meets the circle, not the grooves.
std::array<double, 3> FitCircleTrimmed(const Loop& loop) {
  auto circle = FitCircle(loop);
  for (int round = 0; round < 3; ++round) {
    std::vector<double> residual(loop.size());
    for (size_t i = 0; i < loop.size(); ++i) {
      residual[i] = std::abs(
          std::hypot(loop[i].u - circle[0], loop[i].v - circle[1]) - circle[2]);
    }
    std::vector<double> sorted = residual;
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2,
                     sorted.end());
    const double limit =
        std::max(0.01, 2.5 * 1.4826 * sorted[sorted.size() / 2]);
    Loop kept;
    for (size_t i = 0; i < loop.size(); ++i) {
      if (residual[i] <= limit) kept.push_back(loop[i]);
    }
    if (kept.size() == loop.size() || kept.size() < loop.size() / 2) break;
    circle = FitCircle(kept);
  }
  return circle;
}

// A segment prepared for many distance queries.
struct Segment {
  Point2 a;
  double du, dv, inverse_length2;  // 0 for a point.

  Segment(const Point2& from, const Point2& to)
      : a(from), du(to.u - from.u), dv(to.v - from.v) {
    const double length2 = du * du + dv * dv;
    inverse_length2 = length2 > 0 ? 1 / length2 : 0;
  }
  [[nodiscard]] double SquaredDistance(const Point2& p) const {
    const double t = std::clamp(
        ((p.u - a.u) * du + (p.v - a.v) * dv) * inverse_length2, 0.0, 1.0);
    const double eu = p.u - (a.u + t * du), ev = p.v - (a.v + t * dv);
    return eu * eu + ev * ev;
  }
};

// Slices `mesh` with the plane through `origin` normal to `axis`: chains
// the segments into closed loops (segment ends are identified by the mesh
// edge they lie on). Open chains are dropped.
std::vector<Loop> Slice(const Mesh& mesh, const Vec3& origin, const Vec3& axis,
                        const Vec3& u_dir, const Vec3& v_dir) {
  // Vertices exactly on the plane count as above it: no segment has zero
  // length.
  auto height = [&](uint32_t i) {
    return Dot(mesh.vertices[i] - origin, axis);
  };
  std::vector<uint8_t> above(mesh.vertices.size());
  for (size_t i = 0; i < above.size(); ++i) above[i] = height(i) >= 0;
  // The crossing on each cut edge, from either triangle that has it:
  // computed from the edge's lower-numbered end, so both agree.
  struct Crossing {
    uint64_t edge;
    Point2 point;
  };
  std::vector<Crossing> crossings;
  std::vector<std::array<uint64_t, 2>> segments;
  for (const Triangle& tri : mesh.triangles) {
    const int count = above[tri[0]] + above[tri[1]] + above[tri[2]];
    if (count == 0 || count == 3) continue;
    std::array<uint64_t, 2> ends;
    int n = 0;
    for (int k = 0; k < 3; ++k) {
      const uint32_t a = std::min(tri[k], tri[(k + 1) % 3]);
      const uint32_t b = std::max(tri[k], tri[(k + 1) % 3]);
      if (above[a] == above[b]) continue;
      const double ha = height(a), hb = height(b);
      const Vec3 p = mesh.vertices[a] +
                     (mesh.vertices[b] - mesh.vertices[a]) * (ha / (ha - hb)) -
                     origin;
      ends[n] = uint64_t{a} << 32 | b;
      crossings.push_back({ends[n], {Dot(p, u_dir), Dot(p, v_dir)}});
      ++n;
    }
    segments.push_back(ends);
  }
  // Crossings by edge; each segment links two of them.
  std::sort(
      crossings.begin(), crossings.end(),
      [](const Crossing& x, const Crossing& y) { return x.edge < y.edge; });
  crossings.erase(std::unique(crossings.begin(), crossings.end(),
                              [](const Crossing& x, const Crossing& y) {
                                return x.edge == y.edge;
                              }),
                  crossings.end());
  auto index = [&](uint64_t edge) {
    return static_cast<uint32_t>(
        std::lower_bound(
            crossings.begin(), crossings.end(), edge,
            [](const Crossing& x, uint64_t e) { return x.edge < e; }) -
        crossings.begin());
  };
  const size_t nodes = crossings.size();
  std::vector<uint32_t> start(nodes + 1, 0), links(2 * segments.size());
  std::vector<std::array<uint32_t, 2>> pairs(segments.size());
  for (size_t s = 0; s < segments.size(); ++s) {
    pairs[s] = {index(segments[s][0]), index(segments[s][1])};
    ++start[pairs[s][0] + 1];
    ++start[pairs[s][1] + 1];
  }
  for (size_t i = 0; i < nodes; ++i) start[i + 1] += start[i];
  std::vector<uint32_t> fill(start.begin(), start.end() - 1);
  for (const auto& [a, b] : pairs) {
    links[fill[a]++] = b;
    links[fill[b]++] = a;
  }
  std::vector<Loop> loops;
  std::vector<uint8_t> visited(nodes, 0);
  for (uint32_t first = 0; first < nodes; ++first) {
    if (visited[first]) continue;
    Loop loop;
    uint32_t previous = first, current = first;
    bool closed = false;
    for (size_t steps = 0; steps <= nodes; ++steps) {
      visited[current] = 1;
      loop.push_back(crossings[current].point);
      // The other end of the segment that did not bring us here.
      uint32_t next = current;
      for (uint32_t l = start[current]; l < start[current + 1]; ++l) {
        if (links[l] != previous) {
          next = links[l];
          break;
        }
      }
      if (next == first) {
        closed = true;
        break;
      }
      if (next == current || visited[next]) break;
      previous = current;
      current = next;
    }
    if (closed && loop.size() >= 3) loops.push_back(std::move(loop));
  }
  return loops;
}

Vec3 AnyPerpendicular(const Vec3& axis) {
  const Vec3 other = std::abs(axis.x) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
  return Normalized(Cross(axis, other));
}

// Fills in `ring`'s axis, band width, diameters and centre from the slice
// at mid-width across `axis`; returns the slice's loops, smallest first.
absl::StatusOr<std::vector<Loop>> SliceAtMidWidth(const Mesh& mesh,
                                                  const Vec3& center_of_mass,
                                                  const Vec3& axis,
                                                  RingMeasurements* ring) {
  ring->axis = axis;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& v : mesh.vertices) {
    const double h = Dot(v - center_of_mass, axis);
    lo = std::min(lo, h);
    hi = std::max(hi, h);
  }
  ring->band_width_mm = hi - lo;
  const Vec3 mid = center_of_mass + axis * ((lo + hi) / 2);
  const Vec3 u = AnyPerpendicular(axis), v = Cross(axis, u);
  std::vector<Loop> loops = Slice(mesh, mid, axis, u, v);
  if (loops.size() < 2) {
    return absl::FailedPreconditionError(
        StrCat("not a ring: the slice at mid-width has ", loops.size(),
               " closed contour(s); a band has an inner and an outer one"));
  }
  std::sort(loops.begin(), loops.end(),
            [](const Loop& a, const Loop& b) { return Area(a) < Area(b); });
  const auto circle = FitCircleTrimmed(loops.front());
  ring->inner_diameter_mm = 2 * circle[2];
  ring->inner_circumference_mm = std::numbers::pi * ring->inner_diameter_mm;
  ring->outer_diameter_mm = 2 * FitCircle(loops.back())[2];
  ring->center = mid + u * circle[0] + v * circle[1];
  return loops;
}

// The bore's axis: the direction most nearly perpendicular to the normals
// of the inner wall (facets nearer the axis than mid-wall whose normals
// point within 37 degrees of straight at it), weighted by area.
Vec3 BoreAxis(const Mesh& mesh, const RingMeasurements& ring) {
  const double mid_wall = (ring.inner_diameter_mm + ring.outer_diameter_mm) / 4;
  std::array<std::array<double, 3>, 3> moment{};
  double area = 0;
  // A quarter of a million facets spread over the piece fix the axis as
  // well as all of a large scan's.
  const size_t stride = std::max<size_t>(1, mesh.triangles.size() / 250000);
  for (size_t t = 0; t < mesh.triangles.size(); t += stride) {
    const Vec3 a = mesh.Corner(t, 0), b = mesh.Corner(t, 1),
               c = mesh.Corner(t, 2);
    const Vec3 w = (a + b + c) / 3 - ring.center;
    const Vec3 radial = w - ring.axis * Dot(w, ring.axis);
    const double r2 = Dot(radial, radial);
    if (r2 > mid_wall * mid_wall || r2 == 0) continue;
    const Vec3 n2 = Cross(b - a, c - a);  // Twice the area, along the normal.
    const double twice = Norm(n2);
    // Facing the axis: the unit normal's radial part below -0.8.
    if (twice == 0 || Dot(n2, radial) > -0.8 * std::sqrt(r2) * twice) {
      continue;
    }
    // Area times n n^T = n2 n2^T / (2 |n2|).
    const double nv[3] = {n2.x, n2.y, n2.z};
    const double weight = 1 / (2 * twice);
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) moment[i][j] += weight * nv[i] * nv[j];
    }
    area += twice / 2;
  }
  if (area == 0) return ring.axis;
  std::array<double, 3> values;
  std::array<Vec3, 3> vectors;
  SymmetricEigen(moment, &values, &vectors);
  return Dot(vectors[0], ring.axis) < 0 ? vectors[0] * -1 : vectors[0];
}

// The smallest distance from the outer contour (at most 1440 of its
// points, every quarter degree: the estimate needs no more) to the inner
// one. A bound from 16 points tried against every inner segment sizes a
// grid of the inner segments; only the cells next to an outer point's can
// hold a segment nearer than the bound, so each point meets a few cells'
// segments instead of all of them.
double MinWall(const Loop& inner, const Loop& outer) {
  std::vector<Segment> segments;
  segments.reserve(inner.size());
  double lo_u = INFINITY, lo_v = INFINITY, hi_u = -INFINITY, hi_v = -INFINITY;
  for (size_t i = 0, previous = inner.size() - 1; i < inner.size();
       previous = i++) {
    segments.emplace_back(inner[previous], inner[i]);
    lo_u = std::min(lo_u, inner[i].u);
    lo_v = std::min(lo_v, inner[i].v);
    hi_u = std::max(hi_u, inner[i].u);
    hi_v = std::max(hi_v, inner[i].v);
  }
  const size_t stride = std::max<size_t>(1, outer.size() / 1440);
  auto nearest2 = [&](const Point2& p) {
    double d2 = INFINITY;
    for (const Segment& s : segments) d2 = std::min(d2, s.SquaredDistance(p));
    return d2;
  };
  double wall2 = INFINITY;
  for (size_t o = 0; o < outer.size();
       o += std::max<size_t>(1, outer.size() / 16)) {
    wall2 = std::min(wall2, nearest2(outer[o]));
  }
  // Cells at least the bound wide (and at most 256 across).
  const double extent = std::max(hi_u - lo_u, hi_v - lo_v);
  const double cell = std::max(std::sqrt(wall2), extent / 256);
  if (!(cell > 0) || !std::isfinite(cell)) {
    for (size_t o = 0; o < outer.size(); o += stride) {
      wall2 = std::min(wall2, nearest2(outer[o]));
    }
    return std::sqrt(wall2);
  }
  const int across_u = static_cast<int>((hi_u - lo_u) / cell) + 1;
  const int across_v = static_cast<int>((hi_v - lo_v) / cell) + 1;
  auto cell_of = [&](double x, double lo, int across) {
    return std::clamp(static_cast<int>(std::floor((x - lo) / cell)), 0,
                      across - 1);
  };
  // Segments by the cells their boxes meet (a counting sort).
  const size_t cells = size_t(across_u) * across_v;
  std::vector<uint32_t> start(cells + 1, 0), fill, listed;
  auto for_each_cell = [&](size_t i, auto&& f) {
    const Point2& a = inner[(i + inner.size() - 1) % inner.size()];
    const Point2& b = inner[i];
    const int u1 = cell_of(std::max(a.u, b.u), lo_u, across_u);
    const int v1 = cell_of(std::max(a.v, b.v), lo_v, across_v);
    for (int u = cell_of(std::min(a.u, b.u), lo_u, across_u); u <= u1; ++u) {
      for (int v = cell_of(std::min(a.v, b.v), lo_v, across_v); v <= v1; ++v) {
        f(size_t(u) * across_v + v);
      }
    }
  };
  for (size_t i = 0; i < segments.size(); ++i) {
    for_each_cell(i, [&](size_t c) { ++start[c + 1]; });
  }
  for (size_t c = 0; c < cells; ++c) start[c + 1] += start[c];
  fill.assign(start.begin(), start.end() - 1);
  listed.resize(start.back());
  for (size_t i = 0; i < segments.size(); ++i) {
    for_each_cell(i, [&](size_t c) { listed[fill[c]++] = uint32_t(i); });
  }
  for (size_t o = 0; o < outer.size(); o += stride) {
    const Point2& p = outer[o];
    const int cu = static_cast<int>(std::floor((p.u - lo_u) / cell));
    const int cv = static_cast<int>(std::floor((p.v - lo_v) / cell));
    for (int u = std::max(cu - 1, 0); u <= std::min(cu + 1, across_u - 1);
         ++u) {
      for (int v = std::max(cv - 1, 0); v <= std::min(cv + 1, across_v - 1);
           ++v) {
        const size_t c = size_t(u) * across_v + v;
        for (uint32_t j = start[c]; j < start[c + 1]; ++j) {
          wall2 = std::min(wall2, segments[listed[j]].SquaredDistance(p));
        }
      }
    }
  }
  return std::sqrt(wall2);
}

}  // namespace

absl::StatusOr<RingMeasurements> MeasureRing(const Mesh& mesh) {
  return MeasureRing(mesh, Measure(mesh));
}

absl::StatusOr<RingMeasurements> MeasureRing(const Mesh& mesh,
                                             const Measurements& m) {
  const auto& l = m.principal_moments;
  const int axis_index = (l[1] - l[0]) > (l[2] - l[1]) ? 0 : 2;
  RingMeasurements ring;
  auto slice = SliceAtMidWidth(mesh, m.center_of_mass,
                               m.principal_axes[axis_index], &ring);
  if (!slice.ok()) return slice.status();
  // A setting's mass tilts the principal axis; the bore does not lie.
  const Vec3 bore = BoreAxis(mesh, ring);
  if (Dot(bore, ring.axis) < 1 - 1e-12) {
    slice = SliceAtMidWidth(mesh, m.center_of_mass, bore, &ring);
    if (!slice.ok()) return slice.status();
  }
  ring.min_wall_mm = MinWall(slice->front(), slice->back());
  return ring;
}

}  // namespace loupe::geometry
