#pragma once

// Doubles rounded to float in a chosen direction, for bounds kept in float
// (the hierarchy's nodes, the grid's boxes) that must still contain what
// they bound, and for radii that must not shrink.

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace loupe::geometry {

// The next float below (or above) a finite `f`, by its bits: what
// std::nextafter gives, without the call.
[[nodiscard]] inline float FloatBelow(float f) {
  if (f == 0) return -std::numeric_limits<float>::denorm_min();
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  return std::bit_cast<float>(f > 0 ? bits - 1 : bits + 1);
}
[[nodiscard]] inline float FloatAbove(float f) { return -FloatBelow(-f); }

// The largest float not above `v`.
[[nodiscard]] inline float FloatDown(double v) {
  const float f = static_cast<float>(v);
  if (!(f > v)) return f;
  return std::isfinite(f) ? FloatBelow(f) : std::nextafter(f, -INFINITY);
}

// The smallest float not below `v`.
[[nodiscard]] inline float FloatUp(double v) {
  const float f = static_cast<float>(v);
  if (!(f < v)) return f;
  return std::isfinite(f) ? FloatAbove(f) : std::nextafter(f, INFINITY);
}

}  // namespace loupe::geometry
