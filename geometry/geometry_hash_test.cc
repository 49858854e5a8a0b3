#include "geometry/geometry_hash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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
std::string DefinitionHash(const Mesh& mesh,
                           GeometryHashVersion version = kGeometryHashVersion) {
  using Point = std::array<int64_t, 3>;
  const bool v3 = version == GeometryHashVersion::kV3;
  auto grid = [v3](double x) {
    if (v3 && std::abs(x) <= 3.4028234663852886e38) x = float(x);
    return std::llround(x / 0.001);
  };
  std::vector<std::array<Point, 3>> triangles;
  for (size_t t = 0; t < mesh.triangles.size(); ++t) {
    std::array<Point, 3> c;
    for (int k = 0; k < 3; ++k) {
      const Vec3 v = mesh.Corner(t, k);
      c[k] = {grid(v.x), grid(v.y), grid(v.z)};
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
  std::string bytes =
      v3 ? (compact ? "loupe-geometry-v3 quantum_um=1 float32\n"
                    : "loupe-geometry-v3 quantum_um=1 float32 int64\n")
         : (compact ? "loupe-geometry-v2 quantum_um=1\n"
                    : "loupe-geometry-v2 quantum_um=1 int64\n");
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

class GeometryHashDefinitionTest
    : public ::testing::TestWithParam<GeometryHashVersion> {};

// Both versions: v3 is current, v2 must still reproduce the hashes of
// summaries recorded before it.
TEST_P(GeometryHashDefinitionTest,
       EqualsItsDefinitionForSmallAndHugeCoordinates) {
  const GeometryHashVersion version = GetParam();
  auto CanonicalGeometryHash = [version](const Mesh& mesh, int threads = 2) {
    return geometry::CanonicalGeometryHash(mesh, threads, version);
  };
  auto DefinitionHash = [version](const Mesh& mesh) {
    return geometry::DefinitionHash(mesh, version);
  };
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

INSTANTIATE_TEST_SUITE_P(Versions, GeometryHashDefinitionTest,
                         ::testing::Values(GeometryHashVersion::kV2,
                                           GeometryHashVersion::kV3));

// A tetrahedron with corners on half-micrometre ties as decimals
// (10.0005, 3.1235), hashed by a separate implementation of the definition
// (Python's hashlib and struct): v2's bytes are the ones stored in summaries
// recorded before v3, so they must never change.
Mesh TiedTetrahedron() {
  Mesh m;
  m.vertices = {{0, 0, 0}, {10.0005, 0, 0}, {0, 7.25, 0}, {0, 0, 3.1235}};
  m.triangles = {{0, 2, 1}, {0, 1, 3}, {0, 3, 2}, {1, 2, 3}};
  return m;
}

TEST(GeometryHashTest, KnownAnswersForEachVersion) {
  const Mesh m = TiedTetrahedron();
  EXPECT_EQ(CanonicalGeometryHash(m, 1, GeometryHashVersion::kV2),
            "40434ad898a2d081e86bfbdea722ec8cce68715f55649fdec06e33175e3b8fa4");
  EXPECT_EQ(CanonicalGeometryHash(m, 1, GeometryHashVersion::kV3),
            "e13a9bfd0a033a024102bd0837d574b056471f214d6e6844b62deafa7fc0d555");
  EXPECT_EQ(CanonicalGeometryHash(m),
            CanonicalGeometryHash(m, 1, GeometryHashVersion::kV3));
  EXPECT_EQ(GeometryHashVersionOf(0), GeometryHashVersion::kV2);  // Absent.
  EXPECT_EQ(GeometryHashVersionOf(2), GeometryHashVersion::kV2);
  EXPECT_EQ(GeometryHashVersionOf(3), GeometryHashVersion::kV3);
  EXPECT_EQ(GeometryHashVersionOf(4), std::nullopt);
}

// The same corners read as the decimal's double (an ASCII STL) and as the
// float a converter stored (a binary STL): v3 agrees, v2 did not.
TEST(GeometryHashTest, AsciiAndFloatEncodingsOfTiesAgreeFromV3) {
  const Mesh ascii = TiedTetrahedron();
  Mesh binary = ascii;
  for (auto& v : binary.vertices) {
    for (double* x : {&v.x, &v.y, &v.z}) *x = static_cast<float>(*x);
  }
  ASSERT_NE(binary.vertices[1].x, ascii.vertices[1].x);
  EXPECT_EQ(CanonicalGeometryHash(binary), CanonicalGeometryHash(ascii));
  EXPECT_NE(CanonicalGeometryHash(binary, 1, GeometryHashVersion::kV2),
            CanonicalGeometryHash(ascii, 1, GeometryHashVersion::kV2));
  // Every 6-significant-digit decimal on a band: the same (fast path).
  Mesh band = testing::Band(testing::PlainBand(8.675, 10.175, 4.0, 256));
  int ties = 0;
  for (auto& v : band.vertices) {
    for (double* x : {&v.x, &v.y, &v.z}) {
      char text[32];
      std::snprintf(text, sizeof text, "%.5e", *x);  // 6 significant digits.
      *x = std::strtod(text, nullptr);
      const double um = *x / 0.001;
      ties += std::abs(um - std::round(um)) > 0.4999;
    }
  }
  Mesh as_float = band;
  for (auto& v : as_float.vertices) {
    for (double* x : {&v.x, &v.y, &v.z}) *x = static_cast<float>(*x);
  }
  EXPECT_GT(ties, 0);
  EXPECT_EQ(CanonicalGeometryHash(as_float), CanonicalGeometryHash(band));
}

}  // namespace
}  // namespace loupe::geometry
