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

double Perimeter(const Loop& loop) {
  double p = 0;
  for (size_t i = 0; i < loop.size(); ++i) {
    const Point2& a = loop[i];
    const Point2& b = loop[(i + 1) % loop.size()];
    p += std::hypot(b.u - a.u, b.v - a.v);
  }
  return p;
}

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

double DistanceToSegment(const Point2& p, const Point2& a, const Point2& b) {
  const double du = b.u - a.u, dv = b.v - a.v;
  const double len2 = du * du + dv * dv;
  double t = len2 > 0 ? ((p.u - a.u) * du + (p.v - a.v) * dv) / len2 : 0;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(p.u - (a.u + t * du), p.v - (a.v + t * dv));
}

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

}  // namespace

absl::StatusOr<RingMeasurements> MeasureRing(const Mesh& mesh) {
  return MeasureRing(mesh, Measure(mesh));
}

absl::StatusOr<RingMeasurements> MeasureRing(const Mesh& mesh,
                                             const Measurements& m) {
  const auto& l = m.principal_moments;
  const int axis_index = (l[1] - l[0]) > (l[2] - l[1]) ? 0 : 2;
  RingMeasurements ring;
  ring.axis = m.principal_axes[axis_index];
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& v : mesh.vertices) {
    const double h = Dot(v - m.center_of_mass, ring.axis);
    lo = std::min(lo, h);
    hi = std::max(hi, h);
  }
  ring.band_width_mm = hi - lo;
  const Vec3 mid = m.center_of_mass + ring.axis * ((lo + hi) / 2);
  const Vec3 u = AnyPerpendicular(ring.axis), v = Cross(ring.axis, u);
  std::vector<Loop> loops = Slice(mesh, mid, ring.axis, u, v);
  if (loops.size() < 2) {
    return absl::FailedPreconditionError(
        StrCat("not a ring: the slice at mid-width has ", loops.size(),
               " closed contour(s); a band has an inner and an outer one"));
  }
  std::sort(loops.begin(), loops.end(),
            [](const Loop& a, const Loop& b) { return Area(a) < Area(b); });
  const Loop& inner = loops.front();
  const Loop& outer = loops.back();
  const auto circle = FitCircle(inner);
  ring.inner_diameter_mm = 2 * circle[2];
  ring.inner_circumference_mm = Perimeter(inner);
  ring.outer_diameter_mm = 2 * FitCircle(outer)[2];
  ring.center = mid + u * circle[0] + v * circle[1];
  // At most 1440 outer points (every quarter degree): the estimate does not
  // need more, and the inner contour of a scan can have many thousands.
  double wall = INFINITY;
  const size_t stride = std::max<size_t>(1, outer.size() / 1440);
  for (size_t o = 0; o < outer.size(); o += stride) {
    const Point2& p = outer[o];
    for (size_t i = 0; i < inner.size(); ++i) {
      wall = std::min(
          wall, DistanceToSegment(p, inner[i], inner[(i + 1) % inner.size()]));
    }
  }
  ring.min_wall_mm = wall;
  return ring;
}

}  // namespace loupe::geometry
