#include "geometry/measure.h"

#include <gtest/gtest.h>

#include <numbers>

#include "geometry/jewelry_tables.h"
#include "geometry/ring.h"
#include "geometry/test_meshes.h"

namespace loupe::geometry {
namespace {

using testing::BandSpec;

TEST(MeasureTest, VolumeAreaAndBoxOfABandMatchTheClosedForm) {
  const BandSpec spec;
  const Measurements m = Measure(testing::Band(spec));
  EXPECT_NEAR(m.volume_mm3, testing::BandVolume(spec),
              1e-6 * testing::BandVolume(spec));
  EXPECT_GT(m.signed_volume_mm3, 0);  // Outward-oriented.
  EXPECT_NEAR(m.area_mm2, testing::BandArea(spec),
              1e-6 * testing::BandArea(spec));
  EXPECT_NEAR(m.center_of_mass.z, spec.width / 2, 1e-9);
  EXPECT_NEAR(m.bbox_max.z - m.bbox_min.z, spec.width, 1e-12);
  EXPECT_FALSE(m.unit_warning.has_value());
}

TEST(MeasureTest, RingMeasurementsAreExactAndSurviveARigidMotion) {
  const BandSpec spec;  // US 7: 17.35 mm inner diameter.
  const Mesh band = testing::Band(spec);
  const Mesh moved =
      testing::Moved(band, Normalized({1, 2, 3}), 0.7, {12.5, -40.25, 7});
  for (const Mesh* mesh : {&band, &moved}) {
    auto ring = MeasureRing(*mesh);
    ASSERT_TRUE(ring.ok()) << ring.status();
    EXPECT_NEAR(ring->inner_diameter_mm, 2 * spec.inner_radius, 0.01);
    EXPECT_NEAR(ring->outer_diameter_mm, 2 * spec.outer_radius, 0.01);
    EXPECT_NEAR(ring->band_width_mm, spec.width, 1e-6);
    // The facets' chords make the polygonal wall a little thinner than the
    // radii say: at least R cos(pi / N) - r.
    EXPECT_LE(ring->min_wall_mm, spec.outer_radius - spec.inner_radius + 1e-9);
    EXPECT_GE(ring->min_wall_mm,
              spec.outer_radius * std::cos(std::numbers::pi / spec.segments) -
                  spec.inner_radius - 1e-9);
    // pi x the fitted diameter.
    EXPECT_NEAR(ring->inner_circumference_mm,
                2 * std::numbers::pi * spec.inner_radius, 0.01);
    EXPECT_NEAR(Measure(*mesh).volume_mm3, testing::BandVolume(spec),
                1e-3 * testing::BandVolume(spec));
  }
  // The band's axis (z) carried by the motion.
  const Vec3 z = testing::Moved(Mesh{{{0, 0, 1}}, {}}, Normalized({1, 2, 3}),
                                0.7, {0, 0, 0})
                     .vertices[0];
  EXPECT_NEAR(std::abs(Dot(MeasureRing(moved)->axis, z)), 1, 1e-9);
}

// An engraving cut 0.1 mm into the inner wall over 50 degrees and a setting
// 1.5 mm proud of the outer wall over 30 degrees: the volume is still the
// closed form, and the ring's size is the circle's, not the groove's.
TEST(MeasureTest, EngravedRingWithASettingKeepsItsSize) {
  BandSpec spec;
  spec.engraving = {150, 200};
  spec.engraving_depth = 0.1;
  spec.setting = {345, 15};
  spec.setting_height = 1.5;
  const Mesh mesh = testing::Moved(testing::Band(spec), Normalized({3, 1, -2}),
                                   2.1, {-7, 3, 11});
  EXPECT_NEAR(Measure(mesh).volume_mm3, testing::BandVolume(spec),
              1e-3 * testing::BandVolume(spec));
  BandSpec plain;
  EXPECT_LT(testing::BandVolume(spec), testing::BandVolume(plain) * 1.1);
  EXPECT_NE(testing::BandVolume(spec), testing::BandVolume(plain));
  auto ring = MeasureRing(mesh);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_NEAR(ring->inner_diameter_mm, 2 * spec.inner_radius, 0.01);
  EXPECT_NEAR(ring->band_width_mm, spec.width, 1e-6);
  // The thinnest wall is behind the engraving.
  EXPECT_NEAR(ring->min_wall_mm,
              spec.outer_radius - spec.inner_radius - spec.engraving_depth,
              0.01);
  std::map<std::string, std::string> sizes, plain_sizes;
  for (const auto& s : RingSizesFor(ring->inner_circumference_mm)) {
    sizes[s.system] = s.size;
  }
  for (const auto& s : RingSizesFor(std::numbers::pi * 2 * spec.inner_radius)) {
    plain_sizes[s.system] = s.size;
  }
  EXPECT_EQ(sizes, plain_sizes);
}

TEST(MeasureTest, RingSizesFollowTheTables) {
  // US 7 ~ 17.35 mm diameter ~ ISO 54.5 ~ UK N 1/2 (reference table).
  const double c = std::numbers::pi * 17.35;
  std::map<std::string, std::string> sizes;
  for (const auto& s : RingSizesFor(c)) sizes[s.system] = s.size;
  EXPECT_EQ(sizes["US/Canada"], "7");
  EXPECT_EQ(sizes["UK/Australia"], "N 1/2");
  EXPECT_EQ(sizes["ISO 8653"], "55");
  EXPECT_EQ(sizes["IT/ES/CH"], "15");
  EXPECT_EQ(sizes["JP"], "14");  // 17.3 mm in the Japanese chart.
  std::map<std::string, std::string> jp;
  for (const auto& s : RingSizesFor(std::numbers::pi * 13.0)) {
    jp[s.system] = s.size;
  }
  EXPECT_EQ(jp["JP"], "1");
  for (const auto& s : RingSizesFor(std::numbers::pi * 15.62)) {
    jp[s.system] = s.size;
  }
  EXPECT_EQ(jp["JP"], "9");
  std::map<std::string, std::string> small;
  for (const auto& s : RingSizesFor(38.0)) small[s.system] = s.size;
  EXPECT_EQ(small["UK/Australia"], "A 1/2");
  EXPECT_FALSE(small.contains("IT/ES/CH"));
  EXPECT_FALSE(small.contains("JP"));  // 12.1 mm: below JP 1.
  ASSERT_TRUE(FindAlloy("18k-rose").has_value());
  EXPECT_NEAR(WeightGrams(1000, *FindAlloy("18k-rose")), 15.15, 1e-9);
  EXPECT_FALSE(FindAlloy("unobtainium").has_value());
}

TEST(MeasureTest, AFileInInchesOrMetresIsFlagged) {
  const Mesh band = testing::Band({});
  Mesh inches = band, metres = band;
  for (auto& v : inches.vertices) v = v / 25.4;
  for (auto& v : metres.vertices) v = v / 1000;
  auto in = Measure(inches).unit_warning;
  ASSERT_TRUE(in.has_value());
  EXPECT_NE(in->find("inches"), std::string::npos) << *in;
  auto m = Measure(metres).unit_warning;
  ASSERT_TRUE(m.has_value());
  EXPECT_NE(m->find("metres"), std::string::npos) << *m;
}

TEST(MeasureTest, NotARingIsSaidSo) {
  Mesh box;
  box.vertices = {{0, 0, 0}, {10, 0, 0}, {10, 10, 0}, {0, 10, 0},
                  {0, 0, 5}, {10, 0, 5}, {10, 10, 5}, {0, 10, 5}};
  box.triangles = {{0, 2, 1}, {0, 3, 2}, {4, 5, 6}, {4, 6, 7},
                   {0, 1, 5}, {0, 5, 4}, {1, 2, 6}, {1, 6, 5},
                   {2, 3, 7}, {2, 7, 6}, {3, 0, 4}, {3, 4, 7}};
  EXPECT_NEAR(Measure(box).volume_mm3, 500, 1e-9);
  auto ring = MeasureRing(box);
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(ring.status().message().find("not a ring"), std::string::npos);
}

}  // namespace
}  // namespace loupe::geometry
