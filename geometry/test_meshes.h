#pragma once

// Tests only: meshes the project generates itself, with known answers, and
// writers for every format the readers take.

#include <string>

#include "geometry/mesh.h"

namespace loupe::geometry::testing {

// A range of angles about the band's axis, in degrees from +x towards +y
// (from > to wraps through 0).
struct Arc {
  double from_deg = 0, to_deg = 0;
  [[nodiscard]] bool Contains(double angle_rad) const;
};

struct BandSpec {
  double inner_radius = 8.675;  // US 7: 17.35 mm inner diameter.
  double outer_radius = 10.175;
  double width = 4.0;
  int segments = 256;
  int height_segments = 1;  // Rows of facets on each wall.
  // Outer radius R + wobble cos(angle) + wobble / 2 sin(3 angle): a band
  // no rotation maps onto itself.
  double outer_wobble = 0;
  // An engraving: the inner wall cut `engraving_depth` deeper across the
  // full width over `engraving`; a setting: the outer wall raised by
  // `setting_height` across the full width over `setting`. Both keep the
  // band a prism, so BandVolume() stays exact.
  double engraving_depth = 0;
  Arc engraving;
  double setting_height = 0;
  Arc setting;
  // A head that stands `overhang` proud of both faces over `overhang_arc`
  // (an engagement ring's setting seen from the side), and a contour cut
  // `notch` into the bottom face over `notch_arc` (a matching band shaped
  // around such a head). Not counted by BandVolume().
  double overhang = 0;
  Arc overhang_arc;
  double notch = 0;
  Arc notch_arc;
};

// A plain band's spec: radii, width (mm) and facets around.
[[nodiscard]] inline BandSpec PlainBand(double inner_radius,
                                        double outer_radius, double width,
                                        int segments) {
  BandSpec spec;
  spec.inner_radius = inner_radius;
  spec.outer_radius = outer_radius;
  spec.width = width;
  spec.segments = segments;
  return spec;
}

// A plain band with a rectangular profile, axis along z from z = 0 to
// `width`, outward-oriented; vertices lie on the circles.
[[nodiscard]] Mesh Band(const BandSpec& spec);
// A band no rotation maps onto itself: 128 facets around, 8 rows, a wobbly
// outer wall (0.4 mm) and a spot on the top face raised 0.3 mm on one side
// (x > 0, |y| < 2).
[[nodiscard]] Mesh AsymmetricBand();
// Its exact volume (a polygonal prism with a polygonal hole; wobble,
// engraving and setting included, overhang and notch not) and, for a plain
// band, its exact area.
[[nodiscard]] double BandVolume(const BandSpec& spec);
[[nodiscard]] double BandArea(const BandSpec& spec);

// Rotates by `angle` radians about the unit axis `axis`, then translates.
[[nodiscard]] Mesh Moved(const Mesh& mesh, const Vec3& axis, double angle,
                         const Vec3& offset);

[[nodiscard]] std::string WriteStlBinary(const Mesh& mesh);
[[nodiscard]] std::string WriteStlAscii(const Mesh& mesh);
[[nodiscard]] std::string WriteObj(const Mesh& mesh);
// format: "ascii", "binary_little_endian" or "binary_big_endian".
[[nodiscard]] std::string WritePly(const Mesh& mesh, const std::string& format);

}  // namespace loupe::geometry::testing
