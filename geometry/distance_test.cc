#include "geometry/distance.h"

#include <gtest/gtest.h>

#include <random>

#include "geometry/deviation.h"
#include "geometry/test_meshes.h"

namespace loupe::geometry {
namespace {

using testing::Band;
using testing::BandSpec;

// Brute force over every triangle: the reference for the BVH.
// Every triangle on its own: the reference for the hierarchy.
double BruteDistance(const Mesh& mesh, const Vec3& p) {
  double best = INFINITY;
  for (size_t t = 0; t < mesh.triangles.size(); ++t) {
    Mesh one;
    one.vertices = {mesh.Corner(t, 0), mesh.Corner(t, 1), mesh.Corner(t, 2)};
    one.triangles = {{0, 1, 2}};
    best = std::min(best, MeshDistance(one).Closest(p).distance);
  }
  return best;
}

TEST(DistanceTest, ClosestPointsOnOneTriangle) {
  Mesh one;
  one.vertices = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}};
  one.triangles = {{0, 1, 2}};
  const MeshDistance d(one);
  EXPECT_NEAR(d.Closest({0.2, 0.2, 0.5}).distance, 0.5, 1e-12);  // Face.
  EXPECT_NEAR(d.Closest({0.2, 0.2, 0.5}).signed_distance, 0.5, 1e-12);
  EXPECT_NEAR(d.Closest({0.2, 0.2, -0.5}).signed_distance, -0.5, 1e-12);
  EXPECT_NEAR(d.Closest({-1, -1, 0}).distance, std::sqrt(2.0), 1e-12);  // V0.
  EXPECT_NEAR(d.Closest({0.5, -2, 0}).distance, 2, 1e-12);  // Edge ab.
  EXPECT_NEAR(d.Closest({1, 1, 0}).distance, std::sqrt(0.5),
              1e-12);  // Edge bc.
}

TEST(DistanceTest, BvhAgreesWithBruteForceAndSignsAreRight) {
  const BandSpec spec = testing::PlainBand(8.675, 10.175, 4.0, 32);
  const Mesh band = Band(spec);
  const MeshDistance d(band);
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-13, 13), z(-3, 7);
  for (int i = 0; i < 300; ++i) {
    const Vec3 p{u(rng), u(rng), z(rng)};
    const ClosestPoint c = d.Closest(p);
    ASSERT_NEAR(c.distance, BruteDistance(band, p), 1e-9) << i;
    // Inside the material: between the radii and 0 < z < width.
    const double r = std::hypot(p.x, p.y);
    const double apothem_in =
        spec.inner_radius * std::cos(M_PI / spec.segments);
    const bool surely_inside =
        p.z > 0.01 && p.z < spec.width - 0.01 && r > spec.inner_radius + 0.01 &&
        r < spec.outer_radius * std::cos(M_PI / spec.segments) - 0.01;
    const bool surely_outside = p.z < -0.01 || p.z > spec.width + 0.01 ||
                                r < apothem_in - 0.01 ||
                                r > spec.outer_radius + 0.01;
    if (surely_inside) {
      EXPECT_LT(c.signed_distance, 0) << i;
    }
    if (surely_outside) {
      EXPECT_GT(c.signed_distance, 0) << i;
    }
  }
}

TEST(DistanceTest, ADentIsFoundWhereItWasPutAndSignedAsMissingMaterial) {
  BandSpec spec;
  spec.height_segments = 8;
  const Mesh twin = Band(spec);
  Mesh scan = twin;
  // Push in the outer wall's vertices near angle 0 by 0.1 mm.
  const Vec3 dent_at{spec.outer_radius, 0, spec.width / 2};
  for (auto& v : scan.vertices) {
    const double r = std::hypot(v.x, v.y);
    if (r > spec.outer_radius - 1e-9 && Norm(v - dent_at) < 1.2) {
      v = v - Vec3{v.x / r, v.y / r, 0} * 0.1;
    }
  }
  const MeshDistance reference(twin);
  const Deviation dev = MeasureDeviation(scan, reference, 0.05, 2);
  // Radially 0.1 mm in; the facets beside it tilt by pi / 256.
  EXPECT_NEAR(dev.stats.max_inside, -0.1, 1e-4);
  EXPECT_NEAR(dev.stats.max_outside, 0, 1e-9);
  EXPECT_LT(Norm(dev.stats.worst_point - dent_at), 1.2);
  EXPECT_LT(dev.stats.within_tolerance, 1.0);
  EXPECT_GT(dev.stats.within_tolerance, 0.9);
  // Identical meshes: zero everywhere.
  const Deviation same = MeasureDeviation(twin, reference, 0.001);
  EXPECT_NEAR(same.stats.max_abs, 0, 1e-9);
  EXPECT_EQ(same.stats.within_tolerance, 1.0);
}

}  // namespace
}  // namespace loupe::geometry
