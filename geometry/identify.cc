#include "geometry/identify.h"

#include <cmath>
#include <numbers>

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
  const Deviation d =
      MeasureDeviation(Transformed(scan, v.alignment.pose), twin_distance,
                       tolerance_mm, threads, &scan_areas);
  v.within_tolerance = d.stats.within_tolerance;
  v.rms_mm = d.stats.rms;
  v.max_abs_mm = d.stats.max_abs;
  v.p95_abs_mm = d.stats.p95_abs;
  return v;
}

}  // namespace loupe::geometry
