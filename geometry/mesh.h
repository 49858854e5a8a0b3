#pragma once

// A triangle mesh as Loupe reads it from STL, OBJ and PLY files: vertex
// positions (millimetres by convention; see ReadReport::unit_warning) and
// triangles as vertex indices. Plain data; no topology is inferred.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace loupe::geometry {

struct Vec3 {
  double x = 0, y = 0, z = 0;

  Vec3 operator+(const Vec3& o) const { return {x + o.x, y + o.y, z + o.z}; }
  Vec3 operator-(const Vec3& o) const { return {x - o.x, y - o.y, z - o.z}; }
  Vec3 operator*(double s) const { return {x * s, y * s, z * s}; }
  Vec3 operator/(double s) const { return {x / s, y / s, z / s}; }
  Vec3& operator+=(const Vec3& o) {
    x += o.x;
    y += o.y;
    z += o.z;
    return *this;
  }
  bool operator==(const Vec3&) const = default;
};

inline double Dot(const Vec3& a, const Vec3& b) {
  return a.x * b.x + a.y * b.y + a.z * b.z;
}
inline Vec3 Cross(const Vec3& a, const Vec3& b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
inline double Norm(const Vec3& a) { return std::sqrt(Dot(a, a)); }
// Componentwise smaller and larger (boxes around points).
inline Vec3 Min(const Vec3& a, const Vec3& b) {
  return {std::min(a.x, b.x), std::min(a.y, b.y), std::min(a.z, b.z)};
}
inline Vec3 Max(const Vec3& a, const Vec3& b) {
  return {std::max(a.x, b.x), std::max(a.y, b.y), std::max(a.z, b.z)};
}
inline Vec3 Normalized(const Vec3& a) {
  const double n = Norm(a);
  return n > 0 ? a / n : Vec3{};
}

using Triangle = std::array<uint32_t, 3>;

struct Mesh {
  std::vector<Vec3> vertices;
  std::vector<Triangle> triangles;

  [[nodiscard]] Vec3 Corner(size_t t, int k) const {
    return vertices[triangles[t][k]];
  }
};

}  // namespace loupe::geometry
