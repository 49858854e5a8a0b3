#include "geometry/geometry_hash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "crypto/sha256.h"
#include "geometry/test_meshes.h"

namespace loupe::geometry {
namespace {

TEST(GeometryHashTest, IndependentOfVertexAndTriangleOrder) {
  const Mesh band = testing::Band(testing::PlainBand(8.675, 10.175, 4.0, 64));
  Mesh shuffled;
  std::vector<uint32_t> order(band.vertices.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937 rng(5);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<uint32_t> where(order.size());
  for (uint32_t i = 0; i < order.size(); ++i) {
    shuffled.vertices.push_back(band.vertices[order[i]]);
    where[order[i]] = i;
  }
  for (const auto& t : band.triangles) {
    // Same triangle, corners rotated (orientation kept).
    shuffled.triangles.push_back({where[t[1]], where[t[2]], where[t[0]]});
  }
  std::shuffle(shuffled.triangles.begin(), shuffled.triangles.end(), rng);
  EXPECT_EQ(CanonicalGeometryHash(shuffled), CanonicalGeometryHash(band));
  EXPECT_EQ(CanonicalGeometryHash(band).size(), 64u);
}

TEST(GeometryHashTest, ChangesWhenGeometryMovesMoreThanTheQuantum) {
  const Mesh band = testing::Band(testing::PlainBand(8.675, 10.175, 4.0, 64));
  const std::string hash = CanonicalGeometryHash(band);
  Mesh moved = band;
  moved.vertices[7].x += 2 * kGeometryQuantumMm;
  EXPECT_NE(CanonicalGeometryHash(moved), hash);
  Mesh flipped = band;
  std::swap(flipped.triangles[3][1], flipped.triangles[3][2]);
  EXPECT_NE(CanonicalGeometryHash(flipped), hash);  // Orientation counts.
  Mesh nudged = band;  // Far below the quantum, away from grid lines.
  for (auto& v : nudged.vertices) v.z += 1e-7;
  EXPECT_EQ(CanonicalGeometryHash(nudged), hash);
}

// The definition in docs/geometry.md, written out plainly: the fast
// implementation must give the same bytes to hash.
std::string DefinitionHash(const Mesh& mesh) {
  using Point = std::array<int64_t, 3>;
  std::vector<std::array<Point, 3>> triangles;
  for (size_t t = 0; t < mesh.triangles.size(); ++t) {
    std::array<Point, 3> c;
    for (int k = 0; k < 3; ++k) {
      const Vec3 v = mesh.Corner(t, k);
      c[k] = {std::llround(v.x / 0.001), std::llround(v.y / 0.001),
              std::llround(v.z / 0.001)};
    }
    if (c[0] == c[1] || c[1] == c[2] || c[0] == c[2]) continue;
    std::rotate(c.begin(), std::min_element(c.begin(), c.end()), c.end());
    triangles.push_back(c);
  }
  std::sort(triangles.begin(), triangles.end());
  bool compact = true;
  for (const auto& c : triangles) {
    for (const Point& p : c) {
      for (int64_t v : p) compact = compact && v == int32_t(v);
    }
  }
  std::string bytes = compact ? "loupe-geometry-v2 quantum_um=1\n"
                              : "loupe-geometry-v2 quantum_um=1 int64\n";
  const int width = compact ? 4 : 8;
  for (const auto& c : triangles) {
    for (const Point& p : c) {
      for (int64_t v : p) {
        for (int b = 0; b < width; ++b)
          bytes.push_back(char(uint64_t(v) >> (8 * b)));
      }
    }
  }
  return crypto::Sha256::HexOf(bytes);
}

TEST(GeometryHashTest, EqualsItsDefinitionForSmallAndHugeCoordinates) {
  testing::BandSpec spec;
  spec.segments = 200;
  spec.height_segments = 12;
  Mesh band = testing::Band(spec);
  // Some triangles degenerate at the quantum, some corners shared.
  band.vertices[5] = band.vertices[6] + Vec3{1e-4, 0, 0};
  EXPECT_EQ(CanonicalGeometryHash(band), DefinitionHash(band));
  // Coordinates spanning more than 2 m (the packed sort's range): the
  // general path, same definition.
  Mesh far = band;
  far.vertices.push_back({2500, -3000, 1});
  far.vertices.push_back({2501, -3000, 1});
  far.vertices.push_back({2500, -2999, 1});
  const auto n = static_cast<uint32_t>(far.vertices.size());
  far.triangles.push_back({n - 3, n - 2, n - 1});
  EXPECT_EQ(CanonicalGeometryHash(far), DefinitionHash(far));
  EXPECT_NE(CanonicalGeometryHash(far), CanonicalGeometryHash(band));
  // A mesh large enough for the passes on two threads.
  testing::BandSpec fine;
  fine.segments = 1024;
  fine.height_segments = 24;
  const Mesh large = testing::Band(fine);
  ASSERT_GE(large.triangles.size(), 65536u);
  EXPECT_EQ(CanonicalGeometryHash(large), DefinitionHash(large));
  // The same on any number of threads (geometry.threads).
  for (int threads : {1, 3, 4}) {
    EXPECT_EQ(CanonicalGeometryHash(large, threads), DefinitionHash(large))
        << threads << " threads";
  }
  // A vertex beyond the compact encoding's reach that no triangle uses
  // changes nothing; one that a triangle uses makes the hash wide.
  Mesh unused = band;
  unused.vertices.push_back({3e6, 0, 0});
  EXPECT_EQ(CanonicalGeometryHash(unused), CanonicalGeometryHash(band));
  Mesh wide = band;
  wide.vertices.push_back({3e6, 0, 0});
  wide.triangles.push_back({0, 1, static_cast<uint32_t>(band.vertices.size())});
  EXPECT_EQ(CanonicalGeometryHash(wide), DefinitionHash(wide));
  // Within the packed sort's 2 m but 3 km out: wide, same definition.
  const Mesh away = testing::Moved(band, {0, 0, 1}, 0, {3e6, 0, 0});
  EXPECT_EQ(CanonicalGeometryHash(away), DefinitionHash(away));
  EXPECT_EQ(
      CanonicalGeometryHash(
          testing::Moved(large, {0, 0, 1}, 0, {-3e6, 1e3, 0})),
      DefinitionHash(testing::Moved(large, {0, 0, 1}, 0, {-3e6, 1e3, 0})));
  // Negative coordinates.
  Mesh below = testing::Moved(band, {0, 0, 1}, 0.3, {-40, -7.5, -1000});
  EXPECT_EQ(CanonicalGeometryHash(below), DefinitionHash(below));
  // Corners on and next to half a quantum, either side of zero, and too
  // far out for the fast rounding: each rounds as std::llround does.
  for (const double half : {0.0005, 0.0015, 2.5e-4 * 6, 1e15, 1e17}) {
    for (const double x :
         {half, -half, std::nextafter(half, 0.0), -std::nextafter(half, 0.0),
          std::nextafter(half, 1.0), -std::nextafter(half, 1.0)}) {
      Mesh m = band;
      m.vertices[7] = {x, -x, x * 3};
      EXPECT_EQ(CanonicalGeometryHash(m), DefinitionHash(m)) << x;
    }
  }
}

}  // namespace
}  // namespace loupe::geometry
