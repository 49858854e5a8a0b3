#pragma once

// Tests only: meshes the project generates itself, with known answers, and
// writers for every format the readers take.

#include <string>

#include "geometry/mesh.h"

namespace loupe::geometry::testing {

struct BandSpec {
  double inner_radius = 8.675;  // US 7: 17.35 mm inner diameter.
  double outer_radius = 10.175;
  double width = 4.0;
  int segments = 256;
  int height_segments = 1;  // Rows of facets on each wall.
  // Outer radius R + wobble cos(angle) + wobble / 2 sin(3 angle): a band
  // no rotation maps onto itself.
  double outer_wobble = 0;
};

// A plain band with a rectangular profile, axis along z from z = 0 to
// `width`, outward-oriented; vertices lie on the circles.
[[nodiscard]] Mesh Band(const BandSpec& spec);
// A band no rotation maps onto itself: 128 facets around, 8 rows, a wobbly
// outer wall (0.4 mm) and a spot on the top face raised 0.3 mm on one side
// (x > 0, |y| < 2).
[[nodiscard]] Mesh AsymmetricBand();
// Its exact volume and area (a polygonal prism with a polygonal hole).
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
