#include "geometry/mesh_check.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace loupe::geometry
