#include "geometry/ring.h"

#include <algorithm>
#include <cmath>
#include <map>
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
  std::vector<double> height(mesh.vertices.size());
  for (size_t i = 0; i < mesh.vertices.size(); ++i) {
    height[i] = Dot(mesh.vertices[i] - origin, axis);
    // Vertices exactly on the plane would give zero-length segments.
    if (height[i] == 0) height[i] = 1e-12;
  }
  using EdgeKey = uint64_t;
  auto key = [](uint32_t a, uint32_t b) {
    return (uint64_t{std::min(a, b)} << 32) | std::max(a, b);
  };
  std::map<EdgeKey, Point2> point_of;
  std::multimap<EdgeKey, EdgeKey> links;
  for (const auto& tri : mesh.triangles) {
    EdgeKey ends[2];
    int n = 0;
    for (int k = 0; k < 3 && n < 2; ++k) {
      const uint32_t a = tri[k], b = tri[(k + 1) % 3];
      if ((height[a] > 0) == (height[b] > 0)) continue;
      const double t = height[a] / (height[a] - height[b]);
      const Vec3 p =
          mesh.vertices[a] + (mesh.vertices[b] - mesh.vertices[a]) * t - origin;
      ends[n] = key(a, b);
      point_of[ends[n]] = {Dot(p, u_dir), Dot(p, v_dir)};
      ++n;
    }
    if (n != 2) continue;
    links.emplace(ends[0], ends[1]);
    links.emplace(ends[1], ends[0]);
  }
  std::vector<Loop> loops;
  std::map<EdgeKey, bool> visited;
  for (const auto& [start, unused] : point_of) {
    if (visited[start]) continue;
    Loop loop;
    EdgeKey previous = start, current = start;
    bool closed = false;
    for (size_t steps = 0; steps <= point_of.size(); ++steps) {
      visited[current] = true;
      loop.push_back(point_of[current]);
      // The other end of the segment that did not bring us here.
      EdgeKey next = current;
      auto [lo, hi] = links.equal_range(current);
      for (auto it = lo; it != hi; ++it) {
        if (it->second != previous) {
          next = it->second;
          break;
        }
      }
      if (next == start) {
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
  const Loop& inner = slice->front();
  const Loop& outer = slice->back();
  // At most 1440 outer points (every quarter degree): the estimate does not
  // need more, and the inner contour of a scan can have many thousands.
  std::vector<Segment> segments;
  segments.reserve(inner.size());
  for (size_t i = 0, previous = inner.size() - 1; i < inner.size();
       previous = i++) {
    segments.emplace_back(inner[previous], inner[i]);
  }
  double wall2 = INFINITY;
  const size_t stride = std::max<size_t>(1, outer.size() / 1440);
  for (size_t o = 0; o < outer.size(); o += stride) {
    for (const Segment& segment : segments) {
      wall2 = std::min(wall2, segment.SquaredDistance(outer[o]));
    }
  }
  ring.min_wall_mm = std::sqrt(wall2);
  return ring;
}

}  // namespace loupe::geometry
