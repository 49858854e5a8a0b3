#pragma once

// Doubles rounded to float in a chosen direction, for bounds kept in float
// (the hierarchy's nodes, the grid's boxes) that must still contain what
// they bound, and for radii that must not shrink.

#include <cmath>

namespace loupe::geometry {

// The largest float not above `v`.
[[nodiscard]] inline float FloatDown(double v) {
  const float f = static_cast<float>(v);
  return f > v ? std::nextafter(f, -INFINITY) : f;
}

// The smallest float not below `v`.
[[nodiscard]] inline float FloatUp(double v) {
  const float f = static_cast<float>(v);
  return f < v ? std::nextafter(f, INFINITY) : f;
}

}  // namespace loupe::geometry
