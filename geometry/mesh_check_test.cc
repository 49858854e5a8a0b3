#include "geometry/mesh_check.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "geometry/test_meshes.h"

namespace loupe::geometry {
namespace {

TEST(MeshCheckTest, ABandIsAWatertightOrientedManifold) {
  const MeshReport r = CheckMesh(testing::Band({}));
  EXPECT_TRUE(r.watertight());
  EXPECT_TRUE(r.manifold());
  EXPECT_TRUE(r.consistently_oriented());
  EXPECT_EQ(r.degenerate_triangles, 0u);
  EXPECT_EQ(r.unused_vertices, 0u);
}

TEST(MeshCheckTest, HolesFlipsFinsAndDegenerateTrianglesAreCounted) {
  Mesh hole = testing::Band({});
  hole.triangles.pop_back();
  auto r = CheckMesh(hole);
  EXPECT_FALSE(r.watertight());
  EXPECT_EQ(r.boundary_edges, 3u);

  Mesh flipped = testing::Band({});
  std::swap(flipped.triangles[0][1], flipped.triangles[0][2]);
  r = CheckMesh(flipped);
  EXPECT_TRUE(r.watertight());
  EXPECT_FALSE(r.consistently_oriented());
  EXPECT_EQ(r.misoriented_edges, 3u);

  Mesh fin = testing::Band({});
  fin.triangles.push_back(fin.triangles[0]);
  r = CheckMesh(fin);
  EXPECT_FALSE(r.manifold());
  EXPECT_EQ(r.non_manifold_edges, 3u);

  Mesh degenerate = testing::Band({});
  degenerate.vertices.push_back({1, 1, 1});
  degenerate.triangles.push_back({0, 0, 1});
  r = CheckMesh(degenerate);
  EXPECT_EQ(r.degenerate_triangles, 1u);
  EXPECT_EQ(r.unused_vertices, 1u);
}

TEST(MeshCheckTest, EdgeCountsEqualCountingEveryEdgeInAMap) {
  testing::BandSpec spec;
  spec.segments = 96;
  spec.height_segments = 6;
  Mesh mesh = testing::Band(spec);
  std::mt19937 rng(17);
  // Holes, flipped faces, doubled faces and collapsed ones.
  std::vector<Triangle> triangles;
  for (Triangle t : mesh.triangles) {
    const int roll = static_cast<int>(rng() % 40);
    if (roll == 0) continue;
    if (roll == 1) std::swap(t[1], t[2]);
    if (roll == 2) triangles.push_back(t);
    if (roll == 3) t[2] = t[1];
    triangles.push_back(t);
  }
  // Fans of 100 triangles about one vertex (far more sides than a bucket
  // is searched through), some faces twice, some flipped; one hub below
  // its rim's numbers, one above.
  const auto last = static_cast<uint32_t>(mesh.vertices.size() - 1);
  for (const uint32_t hub : {uint32_t{5}, last}) {
    for (uint32_t i = 0; i < 100; ++i) {
      Triangle t{hub, 10 + i, 11 + i};
      if (i % 7 == 0) std::swap(t[1], t[2]);
      triangles.push_back(t);
      if (i % 11 == 0) triangles.push_back(t);
    }
  }
  mesh.triangles = triangles;
  std::map<std::pair<uint32_t, uint32_t>, std::pair<int, int>> edges;
  for (const Triangle& t : mesh.triangles) {
    for (int k = 0; k < 3; ++k) {
      const uint32_t a = t[k], b = t[(k + 1) % 3];
      if (a == b) continue;
      auto& [uses, forward] = edges[{std::min(a, b), std::max(a, b)}];
      ++uses;
      forward += a < b ? 1 : 0;
    }
  }
  uint64_t boundary = 0, non_manifold = 0, misoriented = 0;
  for (const auto& [edge, counts] : edges) {
    boundary += counts.first == 1;
    non_manifold += counts.first > 2;
    misoriented += counts.first == 2 && counts.second != 1;
  }
  const MeshReport report = CheckMesh(mesh);
  EXPECT_GT(boundary, 0u);
  EXPECT_GT(non_manifold, 0u);
  EXPECT_GT(misoriented, 0u);
  EXPECT_EQ(report.boundary_edges, boundary);
  EXPECT_EQ(report.non_manifold_edges, non_manifold);
  EXPECT_EQ(report.misoriented_edges, misoriented);
  EXPECT_GT(report.degenerate_triangles, 0u);
}

}  // namespace
}  // namespace loupe::geometry
