#include "geometry/geometry_hash.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "crypto/sha256.h"

namespace loupe::geometry {
namespace {

using Point = std::array<int64_t, 3>;
using Corners = std::array<Point, 3>;

Point Quantize(const Vec3& v) {
  return {std::llround(v.x / kGeometryQuantumMm),
          std::llround(v.y / kGeometryQuantumMm),
          std::llround(v.z / kGeometryQuantumMm)};
}

}  // namespace

std::string CanonicalGeometryHash(const Mesh& mesh) {
  std::vector<Corners> triangles;
  triangles.reserve(mesh.triangles.size());
  for (size_t t = 0; t < mesh.triangles.size(); ++t) {
    Corners c = {Quantize(mesh.Corner(t, 0)), Quantize(mesh.Corner(t, 1)),
                 Quantize(mesh.Corner(t, 2))};
    if (c[0] == c[1] || c[1] == c[2] || c[0] == c[2]) continue;
    const int first =
        static_cast<int>(std::min_element(c.begin(), c.end()) - c.begin());
    std::rotate(c.begin(), c.begin() + first, c.end());
    triangles.push_back(c);
  }
  std::sort(triangles.begin(), triangles.end());
  crypto::Sha256 hasher;
  static constexpr char kDomain[] = "loupe-geometry-v1 quantum_um=1\n";
  hasher.Update(kDomain, sizeof kDomain - 1);
  std::vector<unsigned char> buffer;
  buffer.reserve(72 * 4096);
  for (const auto& c : triangles) {
    for (const auto& p : c) {
      for (int64_t v : p) {
        for (int b = 0; b < 8; ++b) {
          buffer.push_back(static_cast<unsigned char>(uint64_t(v) >> (8 * b)));
        }
      }
    }
    if (buffer.size() >= 72 * 4096) {
      hasher.Update(buffer.data(), buffer.size());
      buffer.clear();
    }
  }
  hasher.Update(buffer.data(), buffer.size());
  return crypto::ToHex(hasher.Finish());
}

}  // namespace loupe::geometry
