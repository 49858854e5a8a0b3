#pragma once

// A ring's shape signature, for identification (docs/geometry.md,
// "Identification"): the ring's own frame (axis, centre, mid-width), cheap
// invariants (inner diameter, band width, wall thickness, how far the
// piece stands out from its inner wall) and a global descriptor: the
// area-weighted distribution of the surface over (distance outward from
// the inner wall, distance from mid-width), a "profile density" that does
// not depend on the pose, on the triangulation (area weights) or on which
// sectors of the ring a scan covered (every sector of a band has the same
// profile). Computed from a CAD file or from a partial, noisy scan alike.
//
// The frame does not use the solid's moments (a partial scan has no
// closed volume): the axis is the direction in which the surface spreads
// least, the centre a circle fit to the inner wall (the surface whose
// normals face the axis), refined with outliers (an engraving, a head)
// left out.

#include <array>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "geometry/mesh.h"

namespace loupe::geometry {

// Bins of the descriptor: radial (outward from the inner wall) by axial
// (away from mid-width). Radial: 16 bins of 0.25 mm from -0.5 mm, then 4
// of 2 mm (heads, prongs); axial: 10 bins of 0.45 mm.
inline constexpr int kRadialBins = 20;
inline constexpr int kAxialBins = 10;
inline constexpr int kDescriptorSize = kRadialBins * kAxialBins;
// Changes whenever the descriptor's definition does (stored signatures
// of another version are not compared).
inline constexpr int kSignatureVersion = 1;

struct RingFrame {
  Vec3 axis;    // Unit; its sign is arbitrary.
  Vec3 center;  // On the axis, at mid-width.
};

struct ShapeSignature {
  RingFrame frame;
  double inner_diameter_mm = 0;
  double band_width_mm = 0;      // Extent of the inner wall along the axis.
  double wall_thickness_mm = 0;  // Median outer wall height over the inner.
  double max_height_mm = 0;      // 99.5 % of the area lies within this.
  double area_mm2 = 0;
  // Square roots of the bin shares (sum of squares 1), so that the
  // Euclidean distance between two is the Hellinger distance.
  std::array<float, kDescriptorSize> descriptor{};
};

// FAILED_PRECONDITION when the surface is not a ring (no inner wall around
// an axis, too little area).
[[nodiscard]] absl::StatusOr<ShapeSignature> ComputeSignature(const Mesh& mesh);

// Euclidean distance between two descriptors (0 .. sqrt 2).
[[nodiscard]] double DescriptorDistance(const float* a, const float* b);

// The descriptor quantised to bytes (255 = 1) and back, for storage.
[[nodiscard]] std::string PackDescriptor(
    const std::array<float, kDescriptorSize>& d);
[[nodiscard]] bool UnpackDescriptor(const std::string& bytes,
                                    std::array<float, kDescriptorSize>* out);

}  // namespace loupe::geometry
