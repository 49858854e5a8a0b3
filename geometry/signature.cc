#include "geometry/signature.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "geometry/deviation.h"
#include "geometry/measure.h"

namespace loupe::geometry {
namespace {

// A point of the surface standing for `w` mm^2 of it, with its unit normal.
struct Sample {
  Vec3 p, n;
  double w;
  uint32_t t;  // Its triangle.
};

// Area-weighted samples: each triangle split into n x n similar ones
// (n from its longest edge, so that samples lie at most ~0.25 mm apart),
// one sample at the centre of each. Independent of the triangulation up
// to that spacing. Beyond a million triangles (already small ones) every
// k-th triangle gives one sample standing for k triangles' area, so
// memory stays bounded (~60 MB).
std::vector<Sample> SurfaceSamples(const Mesh& mesh) {
  std::vector<Sample> out;
  constexpr size_t kMaxSampled = 1'000'000;
  const size_t stride = std::max<size_t>(
      1, (mesh.triangles.size() + kMaxSampled - 1) / kMaxSampled);
  auto split = [&mesh](size_t t) {
    const Vec3 a = mesh.Corner(t, 0), b = mesh.Corner(t, 1),
               c = mesh.Corner(t, 2);
    const double edge = std::max({Norm(b - a), Norm(c - b), Norm(a - c)});
    return std::isfinite(edge) ? std::clamp(static_cast<int>(edge / 0.25), 1, 8)
                               : 1;
  };
  // At most ~4 million samples in all (a hostile mesh of large triangles).
  bool fine = mesh.triangles.size() > kMaxSampled;
  size_t total = 0;
  for (size_t t = 0; t < mesh.triangles.size() && !fine; ++t) {
    total += split(t) * split(t);
    fine = total > 4 * kMaxSampled;
  }
  out.reserve(std::min(mesh.triangles.size(), kMaxSampled));
  for (size_t t = 0; t < mesh.triangles.size(); t += stride) {
    const Vec3 a = mesh.Corner(t, 0), b = mesh.Corner(t, 1),
               c = mesh.Corner(t, 2);
    const Vec3 cross = Cross(b - a, c - a);
    const double area = Norm(cross) / 2;
    if (!(area > 0) || !std::isfinite(area)) continue;
    const Vec3 n = cross / (2 * area);
    const int k = fine ? 1 : split(t);
    const double w = area * static_cast<double>(stride) / (k * k);
    const Vec3 u = (b - a) / k, v = (c - a) / k;
    for (int i = 0; i < k; ++i) {
      for (int j = 0; i + j < k; ++j) {
        // Upright sub-triangle (i, j) and, unless on the edge, the one
        // upside down beside it.
        out.push_back({a + u * (i + 1.0 / 3) + v * (j + 1.0 / 3), n, w,
                       static_cast<uint32_t>(t)});
        if (i + j + 1 < k) {
          out.push_back({a + u * (i + 2.0 / 3) + v * (j + 2.0 / 3), n, w,
                         static_cast<uint32_t>(t)});
        }
      }
    }
  }
  return out;
}

// The unit eigenvector of the smallest eigenvalue of sum w x x^T, x =
// `of(sample)`, over the samples `keep` accepts.
template <typename Of, typename Keep>
Vec3 LeastSpread(const std::vector<Sample>& samples, Of of, Keep keep) {
  std::array<std::array<double, 3>, 3> m{};
  for (const auto& s : samples) {
    if (!keep(s)) continue;
    const Vec3 x = of(s);
    const double c[3] = {x.x, x.y, x.z};
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) m[i][j] += s.w * c[i] * c[j];
  }
  std::array<double, 3> values;
  std::array<Vec3, 3> vectors;
  SymmetricEigen(m, &values, &vectors);
  return Normalized(vectors[0]);
}

struct Circle {
  double a = 0, b = 0, r = 0;  // Centre (a, b) in the plane, radius.
  bool ok = false;
};

// Weighted algebraic (Kasa) circle fit of plane points.
Circle FitCircle(const std::vector<std::array<double, 3>>& xyw) {
  // Minimise sum w (x^2 + y^2 + D x + E y + F)^2.
  double m[3][3] = {}, rhs[3] = {};
  for (const auto& [x, y, w] : xyw) {
    const double row[3] = {x, y, 1}, z = -(x * x + y * y);
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) m[i][j] += w * row[i] * row[j];
      rhs[i] += w * row[i] * z;
    }
  }
  // Cramer's rule.
  auto det = [](double a[3][3]) {
    return a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) -
           a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
           a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
  };
  const double d = det(m);
  Circle c;
  if (!(std::abs(d) > 1e-12)) return c;
  double sol[3];
  for (int k = 0; k < 3; ++k) {
    double mk[3][3];
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) mk[i][j] = j == k ? rhs[i] : m[i][j];
    sol[k] = det(mk) / d;
  }
  c.a = -sol[0] / 2;
  c.b = -sol[1] / 2;
  const double r2 = c.a * c.a + c.b * c.b - sol[2];
  c.ok = r2 > 0 && std::isfinite(r2);
  c.r = c.ok ? std::sqrt(r2) : 0;
  return c;
}

// Solves the 5 x 5 system m[.][0..4] x = m[.][5] (Gaussian elimination,
// partial pivoting); false if singular.
bool SolveSmall(double m[5][6], double x[5]) {
  for (int col = 0; col < 5; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 5; ++r)
      if (std::abs(m[r][col]) > std::abs(m[pivot][col])) pivot = r;
    if (!(std::abs(m[pivot][col]) > 1e-12)) return false;
    for (int k = 0; k < 6; ++k) std::swap(m[col][k], m[pivot][k]);
    for (int r = col + 1; r < 5; ++r) {
      const double f = m[r][col] / m[col][col];
      for (int k = col; k < 6; ++k) m[r][k] -= f * m[col][k];
    }
  }
  for (int r = 4; r >= 0; --r) {
    double s = m[r][5];
    for (int k = r + 1; k < 5; ++k) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return true;
}

// The weighted quantile q of (value, weight) pairs: the first value, in
// ascending order, at which the running weight reaches q of the total.
// By selection (expected linear time; the pairs are reordered): the range
// that holds the answer halves each step.
double Quantile(std::vector<std::pair<double, double>>& vw, double q) {
  if (vw.empty()) return 0;
  double total = 0;
  for (const auto& [v, w] : vw) total += w;
  const double target = q * total;
  auto first = vw.begin(), last = vw.end();
  double before = 0;  // The weight left of `first`.
  while (last - first > 1) {
    const auto mid = first + (last - first) / 2;
    std::nth_element(first, mid, last);
    double left = 0;
    for (auto it = first; it != mid; ++it) left += it->second;
    if (before + left >= target) {
      last = mid;
    } else if (before + left + mid->second >= target) {
      return mid->first;
    } else {
      before += left + mid->second;
      first = mid + 1;
    }
  }
  if (first == last) return std::max_element(vw.begin(), vw.end())->first;
  return first->first;
}

// sqrt(x^2 + y^2) without std::hypot's care for overflow (millimetres
// never need it, and it is a fifth of the signature's time).
double Hypot(double x, double y) { return std::sqrt(x * x + y * y); }

// Coordinates of a sample in a frame: x, y across the axis, z along it.
struct Basis {
  Vec3 origin, e1, e2, axis;
  [[nodiscard]] Vec3 Local(const Vec3& p) const {
    const Vec3 d = p - origin;
    return {Dot(d, e1), Dot(d, e2), Dot(d, axis)};
  }
};

Basis BasisOf(const Vec3& origin, const Vec3& axis) {
  const Vec3 helper = std::abs(axis.x) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
  const Vec3 e1 = Normalized(Cross(axis, helper));
  return {origin, e1, Cross(axis, e1), axis};
}

// Whether a sample's normal faces the axis (an inner wall) or away from
// it, more than `cos` of it; relative to the circle's centre.
double RadialFacing(const Basis& f, const Circle& c, const Sample& s) {
  const Vec3 q = f.Local(s.p);
  const double dx = q.x - c.a, dy = q.y - c.b;
  const double r = Hypot(dx, dy);
  if (!(r > 0)) return 0;
  const double nx = Dot(s.n, f.e1), ny = Dot(s.n, f.e2);
  return (nx * dx + ny * dy) / r;
}

void AddToBins(double u, double v, double w,
               std::array<double, kDescriptorSize>* bins) {
  const double fu = u < 3.5 ? (u + 0.5) / 0.25 - 0.5 : 16 + (u - 3.5) / 2 - 0.5;
  const double fv = v / 0.45 - 0.5;
  const double cu = std::clamp(fu, 0.0, kRadialBins - 1.0);
  const double cv = std::clamp(fv, 0.0, kAxialBins - 1.0);
  const int iu = std::min(static_cast<int>(cu), kRadialBins - 2);
  const int iv = std::min(static_cast<int>(cv), kAxialBins - 2);
  const double tu = cu - iu, tv = cv - iv;
  auto at = [&](int i, int j) -> double& {
    return (*bins)[i * kAxialBins + j];
  };
  at(iu, iv) += w * (1 - tu) * (1 - tv);
  at(iu + 1, iv) += w * tu * (1 - tv);
  at(iu, iv + 1) += w * (1 - tu) * tv;
  at(iu + 1, iv + 1) += w * tu * tv;
}

}  // namespace

absl::StatusOr<ShapeSignature> ComputeSignature(const Mesh& mesh) {
  const std::vector<Sample> samples = SurfaceSamples(mesh);
  ShapeSignature sig;
  Vec3 centroid;
  for (const auto& s : samples) {
    centroid += s.p * s.w;
    sig.area_mm2 += s.w;
  }
  if (!(sig.area_mm2 > 1)) {
    return absl::FailedPreconditionError(
        "not a ring: the surface has less than 1 mm^2 of area");
  }
  centroid = centroid / sig.area_mm2;
  // The surface spreads least along a ring's axis.
  Vec3 axis = LeastSpread(
      samples, [&](const Sample& s) { return s.p - centroid; },
      [](const Sample&) { return true; });
  Basis f = BasisOf(centroid, axis);
  Circle c;
  {
    std::vector<std::array<double, 3>> xyw;
    for (const auto& s : samples) {
      const Vec3 q = f.Local(s.p);
      xyw.push_back({q.x, q.y, s.w});
    }
    c = FitCircle(xyw);
  }
  // Refine: the inner wall is the innermost surface facing the axis (a
  // head, prongs, a seat's underside face it too, further out). A
  // cylinder fitted to it gives the axis, the centre and the radius.
  double inner_area = 0;
  for (int round = 0; round < 8 && c.ok; ++round) {
    // The first rounds keep what lies within 0.6 mm of the 10 % quantile
    // of the radii of the surface facing the axis.
    double lo = 0;
    if (round < 3) {
      std::vector<std::pair<double, double>> radii;
      for (const auto& s : samples) {
        if (RadialFacing(f, c, s) >= -0.5) continue;
        const Vec3 q = f.Local(s.p);
        radii.emplace_back(Hypot(q.x - c.a, q.y - c.b), s.w);
      }
      lo = Quantile(radii, 0.1);
    }
    auto inner = [&](const Sample& s) {
      if (RadialFacing(f, c, s) >= -0.5) return false;
      const Vec3 q = f.Local(s.p);
      const double r = Hypot(q.x - c.a, q.y - c.b);
      return round < 3 ? r < lo + 0.6 : std::abs(r - c.r) < 0.35;
    };
    std::vector<std::array<double, 4>> xyzw;
    inner_area = 0;
    for (const auto& s : samples) {
      if (!inner(s)) continue;
      const Vec3 q = f.Local(s.p);
      xyzw.push_back({q.x, q.y, q.z, s.w});
      inner_area += s.w;
    }
    if (round < 3) {
      std::vector<std::array<double, 3>> xyw;
      for (const auto& [x, y, z, w] : xyzw) xyw.push_back({x, y, w});
      c = FitCircle(xyw);
      continue;
    }
    // One Gauss-Newton step of the cylinder fit: centre (a, b), tilt
    // (alpha, beta) of the axis, radius.
    double m[5][6] = {};
    for (const auto& [x, y, z, w] : xyzw) {
      const double dx = x - c.a, dy = y - c.b, d = Hypot(dx, dy);
      if (!(d > 0)) continue;
      const double j[5] = {-dx / d, -dy / d, -z * dx / d, -z * dy / d, -1};
      const double r = d - c.r;
      for (int i = 0; i < 5; ++i) {
        for (int k = 0; k < 5; ++k) m[i][k] += w * j[i] * j[k];
        m[i][5] -= w * j[i] * r;
      }
    }
    double step[5];
    if (!SolveSmall(m, step)) break;
    const Vec3 centre =
        f.origin + f.e1 * (c.a + step[0]) + f.e2 * (c.b + step[1]);
    const Vec3 new_axis = Normalized(f.axis + f.e1 * step[2] + f.e2 * step[3]);
    f = BasisOf(centre, new_axis);
    c = {0, 0, c.r + step[4], c.r + step[4] > 0};
  }
  if (!c.ok || c.r < 3 || c.r > 40 || inner_area < 0.05 * sig.area_mm2) {
    return absl::FailedPreconditionError(
        "not a ring: no inner wall around an axis (3 to 40 mm radius)");
  }
  // Width: the inner wall's extent along the axis (its triangles' corners;
  // comfort-fit edges included: facing the axis, within 0.5 mm of it).
  std::vector<std::pair<double, double>> zs, outer_heights, heights;
  for (const auto& s : samples) {
    const Vec3 q = f.Local(s.p);
    const double r = Hypot(q.x - c.a, q.y - c.b);
    if (RadialFacing(f, c, s) < -0.5 && std::abs(r - c.r) < 0.5) {
      for (int k = 0; k < 3; ++k) {
        zs.emplace_back(f.Local(mesh.Corner(s.t, k)).z, s.w);
      }
    }
  }
  const double z_lo = Quantile(zs, 0.002), z_hi = Quantile(zs, 0.998);
  const double mid = (z_lo + z_hi) / 2;
  sig.band_width_mm = z_hi - z_lo;
  if (!(sig.band_width_mm > 0.5)) {
    return absl::FailedPreconditionError("not a ring: band narrower than 0.5");
  }
  std::array<double, kDescriptorSize> bins{};
  for (const auto& s : samples) {
    const Vec3 q = f.Local(s.p);
    const double u = Hypot(q.x - c.a, q.y - c.b) - c.r;
    const double v = std::abs(q.z - mid);
    AddToBins(u, v, s.w, &bins);
    heights.emplace_back(u, s.w);
    if (RadialFacing(f, c, s) > 0.6 && v < sig.band_width_mm / 4) {
      outer_heights.emplace_back(u, s.w);
    }
  }
  sig.inner_diameter_mm = 2 * c.r;
  sig.wall_thickness_mm = Quantile(outer_heights, 0.5);
  sig.max_height_mm = Quantile(heights, 0.995);
  sig.frame.axis = f.axis;
  sig.frame.center = f.origin + f.e1 * c.a + f.e2 * c.b + f.axis * mid;
  double total = 0;
  for (double b : bins) total += b;
  for (int i = 0; i < kDescriptorSize; ++i) {
    sig.descriptor[i] = static_cast<float>(std::sqrt(bins[i] / total));
  }
  return sig;
}

double DescriptorDistance(const float* a, const float* b) {
  double sum = 0;
  for (int i = 0; i < kDescriptorSize; ++i) {
    const double d = a[i] - b[i];
    sum += d * d;
  }
  return std::sqrt(sum);
}

std::string PackDescriptor(const std::array<float, kDescriptorSize>& d) {
  std::string out(kDescriptorSize, '\0');
  for (int i = 0; i < kDescriptorSize; ++i) {
    out[i] = static_cast<char>(
        static_cast<uint8_t>(std::lround(std::clamp(d[i], 0.0f, 1.0f) * 255)));
  }
  return out;
}

bool UnpackDescriptor(const std::string& bytes,
                      std::array<float, kDescriptorSize>* out) {
  if (bytes.size() != kDescriptorSize) return false;
  for (int i = 0; i < kDescriptorSize; ++i) {
    (*out)[i] = static_cast<uint8_t>(bytes[i]) / 255.0f;
  }
  return true;
}

}  // namespace loupe::geometry
