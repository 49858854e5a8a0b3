#include "geometry/simplify.h"

#include <gtest/gtest.h>

#include "geometry/distance.h"
#include "geometry/measure.h"
#include "geometry/test_meshes.h"

namespace loupe::geometry {
namespace {

TEST(SimplifyTest, APreviewIsSmallAndStaysOnTheSurface) {
  testing::BandSpec spec;
  spec.segments = 1024;
  spec.height_segments = 40;
  const Mesh band = testing::Band(spec);
  ASSERT_GT(band.triangles.size(), 150000u);
  const Preview p = ClusterPreview(band, 20000);
  EXPECT_LE(p.mesh.triangles.size(), 20000u);
  EXPECT_GT(p.mesh.triangles.size(), 2000u);
  // Every preview vertex is the mean of vertices within one cell, so it is
  // within a cell's diagonal of the surface; the shape keeps its volume.
  const MeshDistance original(band, /*signs=*/false);
  for (const auto& v : p.mesh.vertices) {
    EXPECT_LE(original.Closest(v).distance, p.cell_mm * 1.75);
  }
  EXPECT_NEAR(Measure(p.mesh).volume_mm3, Measure(band).volume_mm3,
              0.1 * Measure(band).volume_mm3);
  // A mesh already small enough keeps all its triangles.
  const Mesh coarse = testing::Band({});
  EXPECT_EQ(ClusterPreview(coarse, 20000).mesh.triangles.size(),
            coarse.triangles.size());
  EXPECT_TRUE(ClusterPreview(Mesh{}, 1000).mesh.triangles.empty());
}

}  // namespace
}  // namespace loupe::geometry
