#include "geometry/signature.h"

#include <gtest/gtest.h>

#include <cmath>

#include "geometry/deviation.h"
#include "geometry/identify.h"
#include "tools/gen/piece_gen.h"

namespace loupe::geometry {
namespace {

TEST(SignatureTest, MeasuresAGeneratedBand) {
  gen::PieceSpec spec;
  spec.inner_diameter = 17.35;
  spec.width = 4;
  auto sig = ComputeSignature(gen::BuildPiece(spec));
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_NEAR(sig->inner_diameter_mm, 17.35, 0.02);
  EXPECT_NEAR(sig->band_width_mm, 4, 0.1);
  EXPECT_NEAR(sig->wall_thickness_mm, 1.8, 0.05);
  EXPECT_NEAR(std::abs(sig->frame.axis.z), 1, 1e-6);
}

TEST(SignatureTest, RefusesWhatIsNotARing) {
  Mesh tetra{{{0, 0, 0}, {10, 0, 0}, {0, 10, 0}, {0, 0, 10}},
             {{0, 2, 1}, {0, 1, 3}, {0, 3, 2}, {1, 2, 3}}};
  EXPECT_FALSE(ComputeSignature(tetra).ok());
  EXPECT_FALSE(ComputeSignature(Mesh{}).ok());
}

// A scan's signature lies nearer its own piece's than other pieces'; the
// verification scores its own piece far above another of the same size.
TEST(SignatureTest, ScanIsNearestItsOwnPiece) {
  constexpr int kPieces = 40;
  std::vector<ShapeSignature> twins;
  for (int i = 0; i < kPieces; ++i) {
    auto sig = ComputeSignature(gen::BuildPiece(gen::RandomPiece(i)));
    ASSERT_TRUE(sig.ok()) << i << ": " << sig.status();
    twins.push_back(*sig);
  }
  int first = 0;
  for (int i = 0; i < kPieces; ++i) {
    gen::ScanOptions o;
    o.seed = 1000 + i;
    o.target_points = 20000;
    auto scan = ComputeSignature(gen::SimulateScan(gen::RandomPiece(i), o));
    ASSERT_TRUE(scan.ok()) << i << ": " << scan.status();
    EXPECT_NEAR(scan->inner_diameter_mm, twins[i].inner_diameter_mm, 0.15) << i;
    EXPECT_NEAR(scan->band_width_mm, twins[i].band_width_mm, 0.5) << i;
    int best = -1;
    double best_d = 1e9;
    for (int j = 0; j < kPieces; ++j) {
      const double d =
          DescriptorDistance(scan->descriptor.data(),
                             twins[j].descriptor.data()) +
          std::abs(scan->inner_diameter_mm - twins[j].inner_diameter_mm) / 0.3;
      if (d < best_d) best_d = d, best = j;
    }
    first += best == i;
    std::printf(
        "piece %d: own %.3f best %d %.3f\n", i,
        DescriptorDistance(scan->descriptor.data(), twins[i].descriptor.data()),
        best, best_d);
  }
  EXPECT_GE(first, kPieces - 1);
}

TEST(SignatureTest, VerificationSeparatesOwnPieceFromAnother) {
  const gen::PieceSpec spec = gen::RandomPiece(7);
  gen::PieceSpec other = spec;
  other.engraving = "ZZZZZZZ";
  other.width += 0.5;
  gen::ScanOptions o;
  o.seed = 3;
  const Mesh scan = gen::SimulateScan(spec, o);
  auto scan_sig = ComputeSignature(scan);
  ASSERT_TRUE(scan_sig.ok());
  const std::vector<double> areas = VertexAreas(scan);
  for (const gen::PieceSpec* s :
       std::array<const gen::PieceSpec*, 2>{&spec, &other}) {
    const Mesh twin = gen::BuildPiece(*s);
    auto twin_sig = ComputeSignature(twin);
    ASSERT_TRUE(twin_sig.ok());
    const MeshDistance distance(twin);
    const Verification v = Verify(scan, areas, scan_sig->frame, twin, distance,
                                  twin_sig->frame, 0.1, 2);
    std::printf("within %.3f rms %.3f max %.3f\n", v.within_tolerance, v.rms_mm,
                v.max_abs_mm);
    if (s == &spec) {
      EXPECT_GT(v.within_tolerance, 0.85);
    } else {
      EXPECT_LT(v.within_tolerance, 0.8);
    }
  }
}

// A band a few hundredths thicker or narrower lies within tolerance of the
// scan nearly everywhere, but not with all its faces at one offset.
TEST(SignatureTest, FaceOffsetsTellANearTwinFromTheSamePiece) {
  gen::PieceSpec spec;
  spec.profile = gen::Profile::kFlat;
  spec.inner_diameter = 18.2;
  spec.width = 3.0;
  spec.thickness = 1.4;
  gen::ScanOptions o;
  o.seed = 11;
  o.target_points = 40000;
  const Mesh scan = gen::SimulateScan(spec, o);
  auto scan_sig = ComputeSignature(scan);
  ASSERT_TRUE(scan_sig.ok());
  const std::vector<double> areas = VertexAreas(scan);
  auto verify = [&](const gen::PieceSpec& s) {
    const Mesh twin = gen::BuildPiece(s, {0.35, 0.3, 0});
    auto twin_sig = ComputeSignature(twin);
    EXPECT_TRUE(twin_sig.ok());
    const MeshDistance distance(twin);
    return Verify(scan, areas, scan_sig->frame, twin, distance, twin_sig->frame,
                  0.1, 2);
  };
  const Verification own = verify(spec);
  gen::PieceSpec thicker = spec;
  thicker.thickness += 0.065;
  gen::PieceSpec narrower = spec;
  narrower.width -= 0.1;
  const Verification a = verify(thicker), b = verify(narrower);
  std::printf("own %.3f %.4f thicker %.3f %.4f narrower %.3f %.4f\n",
              own.within_tolerance, own.face_offset_spread_mm,
              a.within_tolerance, a.face_offset_spread_mm, b.within_tolerance,
              b.face_offset_spread_mm);
  EXPECT_LT(own.face_offset_spread_mm, 0.035);
  EXPECT_GT(b.within_tolerance, 0.9);  // The share alone cannot tell.
  EXPECT_GT(a.face_offset_spread_mm, 0.035);
  EXPECT_GT(b.face_offset_spread_mm, 0.035);
}

}  // namespace
}  // namespace loupe::geometry
