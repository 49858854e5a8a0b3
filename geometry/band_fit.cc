#include "geometry/band_fit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

namespace loupe::geometry {
namespace {

constexpr int kRings = 32, kSectors = 720;
constexpr double kSector = 2 * std::numbers::pi / kSectors;
constexpr float kEmpty = std::numeric_limits<float>::quiet_NaN();

// The highest and lowest surface over each cell of a polar grid, in a
// ring's frame (z along its axis). NaN where the mesh has no material.
struct HeightField {
  double r0 = 0, dr = 0;
  std::vector<float> top, bottom;  // [ring * kSectors + sector]
};

struct Frame {
  Vec3 origin, u, v, axis;
  [[nodiscard]] Vec3 Local(const Vec3& p) const {
    const Vec3 d = p - origin;
    return {Dot(d, u), Dot(d, v), Dot(d, axis)};
  }
};

Frame FrameOf(const RingMeasurements& m) {
  const Vec3 other = std::abs(m.axis.x) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
  const Vec3 u = Normalized(Cross(m.axis, other));
  return {m.center, u, Cross(m.axis, u), m.axis};
}

double DistanceToSegment2(double px, double py, const Vec3& a, const Vec3& b) {
  const double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - a.x) * dx + (py - a.y) * dy) / len2 : 0;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(px - a.x - t * dx, py - a.y - t * dy);
}

double Wrap(double a) {  // To (-pi, pi].
  while (a > std::numbers::pi) a -= 2 * std::numbers::pi;
  while (a <= -std::numbers::pi) a += 2 * std::numbers::pi;
  return a;
}

// Rasterises one triangle (local coordinates) into the grid: each cell
// centre inside its shadow on the plane gets the triangle's height there.
void Rasterise(const Vec3 (&p)[3], HeightField* f) {
  const double det = (p[1].x - p[0].x) * (p[2].y - p[0].y) -
                     (p[2].x - p[0].x) * (p[1].y - p[0].y);
  if (std::abs(det) < 1e-12) return;  // Edge-on: a wall, no height.
  // The cells the shadow can reach: radii and angles.
  double r_hi = 0, r_lo = INFINITY;
  for (int k = 0; k < 3; ++k) {
    r_hi = std::max(r_hi, std::hypot(p[k].x, p[k].y));
    r_lo = std::min(r_lo, DistanceToSegment2(0, 0, p[k], p[(k + 1) % 3]));
  }
  auto barycentric = [&](double x, double y, double* b1, double* b2) {
    *b1 =
        ((x - p[0].x) * (p[2].y - p[0].y) - (p[2].x - p[0].x) * (y - p[0].y)) /
        det;
    *b2 =
        ((p[1].x - p[0].x) * (y - p[0].y) - (x - p[0].x) * (p[1].y - p[0].y)) /
        det;
  };
  double b1, b2;
  barycentric(0, 0, &b1, &b2);
  const bool around_axis = b1 >= 0 && b2 >= 0 && b1 + b2 <= 1;
  int j_lo = 0, j_hi = kSectors - 1;
  if (around_axis) {
    r_lo = 0;
  } else {
    const double a0 = std::atan2(p[0].y, p[0].x);
    const double d1 = Wrap(std::atan2(p[1].y, p[1].x) - a0);
    const double d2 = Wrap(std::atan2(p[2].y, p[2].x) - a0);
    j_lo = static_cast<int>(
        std::ceil((a0 + std::min({0.0, d1, d2})) / kSector - 0.5));
    j_hi = static_cast<int>(
        std::floor((a0 + std::max({0.0, d1, d2})) / kSector - 0.5));
  }
  const int i_lo =
      std::max(0, static_cast<int>(std::ceil((r_lo - f->r0) / f->dr - 0.5)));
  const int i_hi = std::min(
      kRings - 1, static_cast<int>(std::floor((r_hi - f->r0) / f->dr - 0.5)));
  for (int i = i_lo; i <= i_hi; ++i) {
    const double r = f->r0 + (i + 0.5) * f->dr;
    for (int j = j_lo; j <= j_hi; ++j) {
      const double a = (j + 0.5) * kSector;
      barycentric(r * std::cos(a), r * std::sin(a), &b1, &b2);
      constexpr double kEps = -1e-9;
      if (b1 < kEps || b2 < kEps || b1 + b2 > 1 - kEps) continue;
      const float z = p[0].z + b1 * (p[1].z - p[0].z) + b2 * (p[2].z - p[0].z);
      const size_t cell = i * kSectors + ((j % kSectors) + kSectors) % kSectors;
      if (std::isnan(f->top[cell]) || z > f->top[cell]) f->top[cell] = z;
      if (std::isnan(f->bottom[cell]) || z < f->bottom[cell])
        f->bottom[cell] = z;
    }
  }
}

HeightField Heights(const Mesh& mesh, const Frame& frame, double r0,
                    double r1) {
  HeightField f{r0, (r1 - r0) / kRings,
                std::vector<float>(kRings * kSectors, kEmpty),
                std::vector<float>(kRings * kSectors, kEmpty)};
  std::vector<Vec3> local(mesh.vertices.size());
  for (size_t i = 0; i < local.size(); ++i)
    local[i] = frame.Local(mesh.vertices[i]);
  for (const auto& t : mesh.triangles) {
    const Vec3 p[3] = {local[t[0]], local[t[1]], local[t[2]]};
    Rasterise(p, &f);
  }
  return f;
}

// A face looking up (+z) or down, as heights measured towards the other
// piece: `mirror` reads the grid turned over (z and angle negated).
std::vector<float> Face(const HeightField& f, bool upper, bool mirror) {
  std::vector<float> face(kRings * kSectors);
  for (int i = 0; i < kRings; ++i) {
    for (int j = 0; j < kSectors; ++j) {
      const int src = mirror ? (kSectors - 1 - j) : j;
      const float z = (upper != mirror ? f.top : f.bottom)[i * kSectors + src];
      face[i * kSectors + j] = mirror ? -z : z;
    }
  }
  return face;
}

struct Placement {
  int turn = 0;
  double mean_gap = INFINITY;
};

// The band's lower face `b` over the ring's upper face `h`: the turn
// (in sectors) with the smallest mean gap once the band touches.
Placement BestTurn(const std::vector<float>& h, const std::vector<float>& b) {
  Placement best;
  for (int turn = 0; turn < kSectors; ++turn) {
    double lift = -INFINITY;
    for (int i = 0; i < kRings; ++i) {
      for (int j = 0; j < kSectors; ++j) {
        const float hz = h[i * kSectors + j];
        const float bz = b[i * kSectors + (j + kSectors - turn) % kSectors];
        if (!std::isnan(hz) && !std::isnan(bz))
          lift = std::max<double>(lift, hz - bz);
      }
    }
    if (lift == -INFINITY) continue;
    double sum = 0, weight = 0;
    for (int i = 0; i < kRings; ++i) {
      for (int j = 0; j < kSectors; ++j) {
        const float hz = h[i * kSectors + j];
        const float bz = b[i * kSectors + (j + kSectors - turn) % kSectors];
        if (std::isnan(hz) || std::isnan(bz)) continue;
        sum += (bz + lift - hz) * (i + 0.5);
        weight += i + 0.5;
      }
    }
    if (sum / weight < best.mean_gap) best = {turn, sum / weight};
  }
  return best;
}

}  // namespace

absl::StatusOr<BandFit> FitBeside(const Mesh& band,
                                  const RingMeasurements& band_m,
                                  const Mesh& ring,
                                  const RingMeasurements& ring_m) {
  const double r0 = band_m.inner_diameter_mm / 2;
  const double r1 = band_m.outer_diameter_mm / 2;
  const HeightField bf = Heights(band, FrameOf(band_m), r0, r1);
  const HeightField rf = Heights(ring, FrameOf(ring_m), r0, r1);
  BandFit fit;
  double best = INFINITY;
  std::vector<float> best_h, best_b;
  for (bool below : {false, true}) {
    const std::vector<float> h = Face(rf, /*upper=*/true, below);
    for (bool flipped : {false, true}) {
      const std::vector<float> b = Face(bf, /*upper=*/false, flipped);
      const Placement p = BestTurn(h, b);
      if (p.mean_gap >= best) continue;
      best = p.mean_gap;
      fit.turn_deg = p.turn * 360.0 / kSectors;
      fit.flipped = flipped;
      fit.below = below;
      best_h = h;
      best_b = b;
    }
  }
  if (best == INFINITY) {
    return absl::FailedPreconditionError(
        "the band's face and the ring's do not overlap: no fit beside it");
  }
  // The gaps at the best placement, for the quantiles.
  const int turn = static_cast<int>(std::lround(fit.turn_deg * kSectors / 360));
  std::vector<std::pair<double, double>> gaps;  // (gap, weight)
  double lift = -INFINITY, total = 0, band_cells = 0;
  for (size_t c = 0; c < best_h.size(); ++c) {
    const int i = c / kSectors, j = c % kSectors;
    const float bz = best_b[i * kSectors + (j + kSectors - turn) % kSectors];
    if (!std::isnan(bz)) band_cells += i + 0.5;
    if (!std::isnan(best_h[c]) && !std::isnan(bz))
      lift = std::max<double>(lift, best_h[c] - bz);
  }
  for (size_t c = 0; c < best_h.size(); ++c) {
    const int i = c / kSectors, j = c % kSectors;
    const float bz = best_b[i * kSectors + (j + kSectors - turn) % kSectors];
    if (std::isnan(best_h[c]) || std::isnan(bz)) continue;
    gaps.push_back({bz + lift - best_h[c], i + 0.5});
    total += i + 0.5;
  }
  std::sort(gaps.begin(), gaps.end());
  double seen = 0;
  fit.gap_p90_mm = gaps.back().first;
  for (const auto& [gap, weight] : gaps) {
    seen += weight;
    if (seen >= 0.9 * total) {
      fit.gap_p90_mm = gap;
      break;
    }
  }
  fit.gap_max_mm = gaps.back().first;
  fit.mean_gap_mm = best;
  fit.footprint_share = band_cells > 0 ? total / band_cells : 0;
  return fit;
}

}  // namespace loupe::geometry
