#include "geometry/align.h"

#include <gtest/gtest.h>

#include "geometry/deviation.h"
#include "geometry/test_meshes.h"

namespace loupe::geometry {
namespace {

using testing::Band;
using testing::BandSpec;

TEST(AlignTest, RecoversAKnownRigidMotion) {
  const Mesh twin = testing::AsymmetricBand();
  const Vec3 axis = Normalized({0.3, -1, 0.5});
  const Mesh scan = testing::Moved(twin, axis, 0.9, {3, -7, 11});
  const MeshDistance reference(twin);
  const AlignResult r = Align(scan, twin, reference);
  EXPECT_TRUE(r.pose_determined) << r.note;
  EXPECT_LT(r.rms_mm, 1e-5);
  // Every vertex goes back to where it came from.
  double worst = 0;
  for (size_t i = 0; i < twin.vertices.size(); ++i) {
    worst = std::max(worst,
                     Norm(r.pose.Apply(scan.vertices[i]) - twin.vertices[i]));
  }
  EXPECT_LT(worst, 1e-4);
  EXPECT_NEAR(r.pose.scale, 1, 1e-12);
  const Deviation d =
      MeasureDeviation(Transformed(scan, r.pose), reference, 0.01);
  EXPECT_LT(d.stats.max_abs, 1e-4);
}

TEST(AlignTest, CastingShrinkageIsReportedAsAScale) {
  const Mesh twin = testing::AsymmetricBand();
  Mesh cast = testing::Moved(twin, Normalized({0, 0, 1}), 0.4, {1, 2, 3});
  for (auto& v : cast.vertices) v = v * 0.985;  // 1.5 % shrinkage.
  const MeshDistance reference(twin);
  AlignOptions options;
  options.allow_scale = true;
  const AlignResult r = Align(cast, twin, reference, options);
  EXPECT_NEAR(r.pose.scale, 1 / 0.985, 1e-4);
  EXPECT_LT(r.rms_mm, 1e-4);
  options.allow_scale = false;
  EXPECT_GT(Align(cast, twin, reference, options).rms_mm, 0.05);
}

TEST(AlignTest, APlainBandSaysItsPoseAboutTheAxisIsUndetermined) {
  BandSpec spec;
  spec.segments = 128;
  spec.height_segments = 2;
  const Mesh twin = Band(spec);
  const Mesh scan =
      testing::Moved(twin, Normalized({1, 1, 0}), 0.2, {0.5, 0, 0});
  const MeshDistance reference(twin);
  const AlignResult r = Align(scan, twin, reference);
  EXPECT_LT(r.rms_mm, 1e-3);
  EXPECT_FALSE(r.pose_determined);
  EXPECT_NE(r.note.find("rotationally symmetric"), std::string::npos);
}

}  // namespace
}  // namespace loupe::geometry
