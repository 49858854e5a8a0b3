#include "geometry/compare.h"

#include <gtest/gtest.h>

#include <random>

#include "geometry/heatmap.h"
#include "geometry/read_mesh.h"
#include "geometry/test_meshes.h"

namespace loupe::geometry {
namespace {

using testing::Band;
using testing::BandSpec;

Mesh Twin() { return testing::AsymmetricBand(); }

Mesh Scanned(const Mesh& mesh, double noise, int seed) {
  Mesh out = testing::Moved(mesh, Normalized({1, -2, 0.5}), 0.6, {4, 1, -9});
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-noise, noise);
  for (auto& v : out.vertices) v += Vec3{u(rng), u(rng), u(rng)};
  return out;
}

bool Mentions(const CompareReport& r, const std::string& text) {
  for (const auto& reason : r.reasons) {
    if (reason.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(CompareTest, RepairWithinToleranceAndADentBeyondIt) {
  const Mesh twin = Twin();
  CompareOptions o;
  o.tolerance_mm = 0.05;
  auto good = Compare(Scanned(twin, 0.01, 1), twin, o);
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_TRUE(good->pass) << good->reasons[0] << good->reasons[1];
  EXPECT_GT(good->coverage, 0.99);

  Mesh dented = twin;  // 0.2 mm in, on the outer wall at 180 degrees.
  for (auto& v : dented.vertices) {
    const double r = std::hypot(v.x, v.y);
    if (r > 9.5 && v.x < 0 && std::abs(v.y) < 1.0 && std::abs(v.z - 2) < 1.1) {
      v = v - Vec3{v.x / r, v.y / r, 0} * 0.2;
    }
  }
  auto bad = Compare(Scanned(dented, 0.0, 2), twin, o);
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->pass);
  EXPECT_TRUE(Mentions(*bad, "FAIL: no point beyond 3 x tolerance"));
  EXPECT_TRUE(Mentions(*bad, "missing material"));
  // The worst point is in the dent (in the twin's frame).
  const Vec3 worst = bad->to_twin->stats.worst_point;
  EXPECT_LT(worst.x, 0);
  EXPECT_LT(std::abs(worst.y), 1.5);
}

TEST(CompareTest, ReorderAllowsAStatedCastingScale) {
  const Mesh twin = Twin();
  Mesh cast = Scanned(twin, 0, 3);
  for (auto& v : cast.vertices) v = v * 0.985;
  CompareOptions o;
  o.purpose = Purpose::kReorder;
  o.tolerance_mm = 0.05;
  EXPECT_FALSE(Compare(cast, twin, o)->pass);
  o.allow_scale = true;
  auto scaled = Compare(cast, twin, o);
  EXPECT_TRUE(scaled->pass);
  EXPECT_NEAR(scaled->alignment.pose.scale, 1 / 0.985, 1e-3);
  EXPECT_TRUE(Mentions(*scaled, "casting scale"));
}

TEST(CompareTest, ResizeAndMatchingBandAreJudgedAsRings) {
  BandSpec twin_spec;  // US 7.
  twin_spec.segments = 256;
  BandSpec resized = twin_spec;  // US 8: 18.19 mm, same wall and width.
  resized.inner_radius = 18.19 / 2;
  resized.outer_radius = resized.inner_radius + 1.5;
  CompareOptions o;
  o.purpose = Purpose::kResize;
  o.tolerance_mm = 0.05;
  auto r = Compare(Band(resized), Band(twin_spec), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->pass);
  EXPECT_NEAR(r->ring->inner_diameter_mm, 18.19, 0.01);
  BandSpec wider = resized;
  wider.width = 5;
  EXPECT_FALSE(Compare(Band(wider), Band(twin_spec), o)->pass);

  o.purpose = Purpose::kMatchingBand;
  BandSpec band = twin_spec;  // A slimmer band of the same size.
  band.width = 2;
  band.outer_radius = band.inner_radius + 1.2;
  EXPECT_TRUE(Compare(Band(band), Band(twin_spec), o)->pass);
  auto other = Compare(Band(resized), Band(twin_spec), o);
  EXPECT_FALSE(other->pass);
  EXPECT_TRUE(Mentions(*other, "FAIL: same size"));
}

// An engagement ring whose head stands 0.8 mm proud of the shank's side
// over 40 degrees, and a band contoured around it.
TEST(CompareTest, MatchingBandMustFitBesideTheSetting) {
  BandSpec ring;
  ring.height_segments = 4;
  ring.setting = ring.overhang_arc = {340, 20};
  ring.setting_height = 1.5;
  ring.overhang = 0.8;
  BandSpec plain;
  plain.width = 2.8;
  plain.height_segments = 4;
  plain.outer_radius = plain.inner_radius + 1.2;
  BandSpec contoured = plain;
  contoured.notch_arc = {335, 25};  // 5 degrees of clearance each side.
  contoured.notch = 0.8;
  CompareOptions o;
  o.purpose = Purpose::kMatchingBand;
  o.tolerance_mm = 0.05;
  // Turned 57 degrees about its axis and moved: the fit finds the turn.
  const Mesh moved =
      testing::Moved(testing::Moved(Band(contoured), {0, 0, 1}, 1.0, {0, 0, 0}),
                     Normalized({1, -2, 0.5}), 0.6, {4, 1, -9});
  auto fits = Compare(moved, Band(ring), o);
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_TRUE(fits->pass) << fits->reasons.back();
  ASSERT_TRUE(fits->band_fit.has_value());
  EXPECT_LT(fits->band_fit->gap_p90_mm, 0.03);
  EXPECT_GT(fits->band_fit->footprint_share, 0.9);
  EXPECT_TRUE(Mentions(*fits, "ok: the profile fits"));
  // A plain band of the same size stands off the shank by the head.
  auto gap = Compare(Band(plain), Band(ring), o);
  ASSERT_TRUE(gap.ok()) << gap.status();
  EXPECT_FALSE(gap->pass);
  EXPECT_TRUE(Mentions(*gap, "ok: same size"));
  EXPECT_TRUE(Mentions(*gap, "FAIL: the profile fits"));
  EXPECT_NEAR(gap->band_fit->gap_p90_mm, 0.8, 0.01);
  // A notch cut too shallow: the band rides on the head by the difference.
  BandSpec shallow = contoured;
  shallow.notch = 0.4;
  auto rides = Compare(Band(shallow), Band(ring), o);
  ASSERT_TRUE(rides.ok()) << rides.status();
  EXPECT_FALSE(rides->pass);
  EXPECT_NEAR(rides->band_fit->gap_p90_mm, 0.4, 0.01);
}

TEST(CompareTest, HeatmapIsAReadablePlyWithTheDistances) {
  const Mesh twin = Band(testing::PlainBand(8.675, 10.175, 4.0, 32));
  std::vector<double> d(twin.vertices.size(), 0.0);
  d[3] = 0.2;
  const std::string ply = HeatmapPly(twin, d, 0.05);
  auto read = ParseMesh(ply, "heat.ply");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->mesh.triangles.size(), twin.triangles.size());
  EXPECT_NE(ply.find("property float quality"), std::string::npos);
}

}  // namespace
}  // namespace loupe::geometry
