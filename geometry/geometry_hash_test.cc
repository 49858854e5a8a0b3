#include "geometry/geometry_hash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

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

}  // namespace
}  // namespace loupe::geometry
