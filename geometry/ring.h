#pragma once

// Ring measurements (docs/geometry.md): the axis (the solid's principal
// axis whose variance stands apart from the other two, which a ring's
// symmetry makes equal), the band width along it, and the slice at
// mid-width: its inner contour gives the inner diameter (least-squares
// circle fit, outliers such as an engraving's groove left out) and the
// inner circumference (pi x that diameter); the minimum wall
// thickness is estimated in that slice as the smallest distance from the
// outer contour to the inner one. Sizes follow from the circumference
// (jewelry_tables.h).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "geometry/measure.h"
#include "geometry/mesh.h"

namespace loupe::geometry {

struct RingMeasurements {
  Vec3 axis;    // Unit.
  Vec3 center;  // On the axis, at mid-width.
  double band_width_mm = 0;
  double inner_diameter_mm = 0;
  double inner_circumference_mm = 0;
  double outer_diameter_mm = 0;
  double min_wall_mm = 0;
};

// FAILED_PRECONDITION saying why when the mesh does not look like a ring
// (no closed contour around the axis at mid-width).
[[nodiscard]] absl::StatusOr<RingMeasurements> MeasureRing(const Mesh& mesh);
// The same, reusing the mesh's Measure() result.
[[nodiscard]] absl::StatusOr<RingMeasurements> MeasureRing(
    const Mesh& mesh, const Measurements& measurements);

}  // namespace loupe::geometry
