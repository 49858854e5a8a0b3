#include "geometry/identify.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

namespace loupe::geometry {
namespace {

using Matrix3 = std::array<std::array<double, 3>, 3>;

// Rotation by `angle` about the unit `axis` (Rodrigues).
Matrix3 AxisAngle(const Vec3& k, double angle) {
  const double c = std::cos(angle), s = std::sin(angle), v = 1 - c;
  return {
      {{c + k.x * k.x * v, k.x * k.y * v - k.z * s, k.x * k.z * v + k.y * s},
       {k.y * k.x * v + k.z * s, c + k.y * k.y * v, k.y * k.z * v - k.x * s},
       {k.z * k.x * v - k.y * s, k.z * k.y * v + k.x * s, c + k.z * k.z * v}}};
}

// A rotation taking unit `from` onto unit `to`.
Matrix3 Onto(const Vec3& from, const Vec3& to) {
  const Vec3 cross = Cross(from, to);
  const double s = Norm(cross), c = Dot(from, to);
  if (s < 1e-12) {
    if (c > 0) return AxisAngle({0, 0, 1}, 0);
    // Opposite: half a turn about any axis square to `from`.
    const Vec3 helper = std::abs(from.x) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
    return AxisAngle(Normalized(Cross(from, helper)), std::numbers::pi);
  }
  return AxisAngle(cross / s, std::atan2(s, c));
}

Matrix3 Multiply(const Matrix3& a, const Matrix3& b) {
  Matrix3 c{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) c[i][j] += a[i][k] * b[k][j];
  return c;
}

}  // namespace

std::vector<Pose> FramePoses(const RingFrame& scan, const RingFrame& twin,
                             int turns) {
  std::vector<Pose> poses;
  for (double up : {1.0, -1.0}) {
    const Matrix3 base = Onto(scan.axis * up, twin.axis);
    for (int k = 0; k < turns; ++k) {
      Pose p;
      p.rotation = Multiply(
          AxisAngle(twin.axis, 2 * std::numbers::pi * k / turns), base);
      p.translation = twin.center - p.Apply(scan.center);
      poses.push_back(p);
    }
  }
  return poses;
}

Verification Verify(const Mesh& scan, const std::vector<double>& scan_areas,
                    const RingFrame& scan_frame, const Mesh& twin,
                    const MeshDistance& twin_distance,
                    const RingFrame& twin_frame, double tolerance_mm,
                    int threads) {
  const std::vector<Pose> poses = FramePoses(scan_frame, twin_frame);
  AlignOptions options;
  options.threads = threads;
  options.max_samples = 5000;
  options.trim = 0.2;  // Wear, an engraving, what changed.
  AlignInputs known;
  known.moving_areas = &scan_areas;
  known.initial_poses = &poses;
  Verification v;
  v.alignment = Align(scan, twin, twin_distance, options, known);
  const Mesh aligned = Transformed(scan, v.alignment.pose);
  const Deviation d = MeasureDeviation(aligned, twin_distance, tolerance_mm,
                                       threads, &scan_areas);
  v.envelope_conflict = EnvelopeConflict(aligned, twin, twin_frame,
                                         std::max(0.3, 3 * tolerance_mm));
  v.face_offset_spread_mm =
      FaceOffsetSpread(aligned, d, scan_areas, twin, twin_frame);
  v.within_tolerance = d.stats.within_tolerance;
  v.rms_mm = d.stats.rms;
  v.max_abs_mm = d.stats.max_abs;
  v.p95_abs_mm = d.stats.p95_abs;
  return v;
}

double EnvelopeConflict(const Mesh& aligned_scan, const Mesh& twin,
                        const RingFrame& frame, double conflict_mm) {
  const Vec3 helper =
      std::abs(frame.axis.x) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
  const Vec3 e1 = Normalized(Cross(frame.axis, helper));
  const Vec3 e2 = Cross(frame.axis, e1);
  // Cells: the mean radius's circumference in 0.4 mm steps, by 0.4 mm of
  // height within +-12 mm.
  double radius = 0;
  for (const Vec3& p : twin.vertices) {
    const Vec3 d = p - frame.center;
    radius += std::hypot(Dot(d, e1), Dot(d, e2));
  }
  radius /= std::max<size_t>(1, twin.vertices.size());
  const int around = std::clamp(
      static_cast<int>(2 * std::numbers::pi * radius / 0.4), 16, 4096);
  constexpr int kHeights = 60;
  auto envelope = [&](const Mesh& m) {
    std::vector<float> out(static_cast<size_t>(around) * kHeights, -1);
    // Points on every triangle at most 0.2 mm apart: a small triangle's
    // corners (each vertex once, however many triangles share it), a
    // larger one's grid.
    std::vector<Vec3> points;
    std::vector<char> corner(m.vertices.size(), 0);
    for (size_t t = 0; t < m.triangles.size(); ++t) {
      const Vec3 p0 = m.Corner(t, 0), u = m.Corner(t, 1) - p0,
                 v = m.Corner(t, 2) - p0;
      // Outward-facing surface only: a cell where a scan saw only the
      // inner wall says nothing of what stands outside.
      const Vec3 n = Normalized(Cross(u, v));
      const Vec3 c = p0 + (u + v) / 3 - frame.center;
      const Vec3 radial = Normalized(c - frame.axis * Dot(c, frame.axis));
      if (Dot(n, radial) < 0.3) continue;
      const double edge = std::max({Norm(u), Norm(v), Norm(u - v)});
      const int k = std::isfinite(edge)
                        ? std::clamp(static_cast<int>(edge / 0.2) + 1, 1, 16)
                        : 1;
      if (k == 1) {
        for (int i = 0; i < 3; ++i) corner[m.triangles[t][i]] = 1;
        continue;
      }
      for (int i = 0; i <= k; ++i) {
        for (int j = 0; i + j <= k; ++j) {
          points.push_back(p0 + u * (static_cast<double>(i) / k) +
                           v * (static_cast<double>(j) / k));
        }
      }
    }
    for (size_t i = 0; i < corner.size(); ++i) {
      if (corner[i] != 0) points.push_back(m.vertices[i]);
    }
    for (const Vec3& p : points) {
      const Vec3 d = p - frame.center;
      const double x = Dot(d, e1), y = Dot(d, e2), z = Dot(d, frame.axis);
      const int h = static_cast<int>(std::floor(z / 0.4)) + kHeights / 2;
      if (h < 0 || h >= kHeights || !std::isfinite(x + y)) continue;
      const double a = std::atan2(y, x) + std::numbers::pi;
      const int k = std::min(
          around - 1, static_cast<int>(a / (2 * std::numbers::pi) * around));
      float& cell = out[static_cast<size_t>(k) * kHeights + h];
      cell = std::max(cell, static_cast<float>(std::hypot(x, y)));
    }
    return out;
  };
  const std::vector<float> a = envelope(aligned_scan), b = envelope(twin);
  // Cells inside both coverages only (their neighbours around and along
  // the axis seen too): at a coverage's edge a cell holds part of a
  // surface.
  auto seen = [&](int k, int h) {
    if (h < 0 || h >= kHeights) return false;
    const size_t i = static_cast<size_t>((k + around) % around) * kHeights + h;
    return a[i] >= 0 && b[i] >= 0;
  };
  size_t both = 0, conflicts = 0;
  for (int k = 0; k < around; ++k) {
    for (int h = 0; h < kHeights; ++h) {
      if (!seen(k, h) || !seen(k - 1, h) || !seen(k + 1, h) ||
          !seen(k, h - 1) || !seen(k, h + 1)) {
        continue;
      }
      const size_t i = static_cast<size_t>(k) * kHeights + h;
      ++both;
      conflicts += std::abs(a[i] - b[i]) > conflict_mm;
    }
  }
  return both == 0 ? 1.0 : static_cast<double>(conflicts) / both;
}

namespace {

// The face of the band whose outward normal is `n` at `p` (in the frame):
// 0 inner wall, 1 outer surface, 2 and 3 the sides; -1 for the slopes in
// between (a D profile's shoulders), which a changed width and a changed
// wall both move.
int FaceOf(const Vec3& n, const Vec3& p, const RingFrame& frame) {
  const Vec3 r = p - frame.center;
  const double along = Dot(r, frame.axis);
  const Vec3 radial = Normalized(r - frame.axis * along);
  const double out = Dot(n, radial), up = Dot(n, frame.axis);
  constexpr double kFacing = 0.8;
  if (out < -kFacing) return 0;
  if (out > kFacing) return 1;
  if (up > kFacing && along > 0) return 2;
  if (up < -kFacing && along < 0) return 3;
  return -1;
}

}  // namespace

double FaceOffsetSpread(const Mesh& aligned_scan, const Deviation& deviation,
                        const std::vector<double>& areas, const Mesh& twin,
                        const RingFrame& frame, double min_face_mm2) {
  constexpr double kNearMm = 0.15;
  // Each face's deviations and their areas.
  std::array<std::vector<double>, 4> values, weights;
  for (size_t i = 0; i < aligned_scan.vertices.size(); ++i) {
    const double d = deviation.per_vertex[i];
    if (!(areas[i] > 0) || !(std::abs(d) <= kNearMm)) continue;
    const uint32_t t = deviation.closest_triangle[i];
    const Vec3 a = twin.Corner(t, 0);
    const Vec3 n =
        Normalized(Cross(twin.Corner(t, 1) - a, twin.Corner(t, 2) - a));
    const int face = FaceOf(n, aligned_scan.vertices[i], frame);
    if (face < 0) continue;
    values[face].push_back(d);
    weights[face].push_back(areas[i]);
  }
  double lowest = 0, highest = 0;
  int covered = 0;
  for (int f = 0; f < 4; ++f) {
    double area = 0;
    for (double w : weights[f]) area += w;
    if (area < min_face_mm2) continue;
    const double median = WeightedQuantiles(values[f], weights[f], {0.5})[0];
    lowest = covered == 0 ? median : std::min(lowest, median);
    highest = covered == 0 ? median : std::max(highest, median);
    ++covered;
  }
  return covered < 2 ? 0 : highest - lowest;
}

}  // namespace loupe::geometry
