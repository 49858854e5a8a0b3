#include "geometry/distance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <limits>
#include <random>

#include "geometry/deviation.h"
#include "geometry/float_bounds.h"
#include "geometry/radix_sort.h"
#include "geometry/test_meshes.h"

namespace loupe::geometry {
namespace {

using testing::Band;
using testing::BandSpec;

// The distance from p to triangle abc written out plainly: the plane's
// foot if it lies inside, else the nearest of the three sides.
double PlainDistance(const Vec3& p, const Vec3& a, const Vec3& b,
                     const Vec3& c) {
  auto to_segment = [&](const Vec3& u, const Vec3& v) {
    const Vec3 d = v - u;
    const double t = std::clamp(Dot(p - u, d) / Dot(d, d), 0.0, 1.0);
    return Norm(p - (u + d * t));
  };
  const Vec3 n = Normalized(Cross(b - a, c - a));
  const Vec3 foot = p - n * Dot(p - a, n);
  const bool inside = Dot(Cross(b - a, foot - a), n) >= 0 &&
                      Dot(Cross(c - b, foot - b), n) >= 0 &&
                      Dot(Cross(a - c, foot - c), n) >= 0;
  if (inside) return std::abs(Dot(p - a, n));
  return std::min({to_segment(a, b), to_segment(b, c), to_segment(c, a)});
}

// Every triangle on its own: the reference for the hierarchy and the grid.
class BruteForce {
 public:
  explicit BruteForce(const Mesh& mesh) {
    for (size_t t = 0; t < mesh.triangles.size(); ++t) {
      Mesh one;
      one.vertices = {mesh.Corner(t, 0), mesh.Corner(t, 1), mesh.Corner(t, 2)};
      one.triangles = {{0, 1, 2}};
      each_.emplace_back(one, false);
    }
  }
  double Distance(const Vec3& p) const {
    double best = INFINITY;
    for (const MeshDistance& one : each_) {
      best = std::min(best, one.Closest(p).distance);
    }
    return best;
  }

 private:
  std::vector<MeshDistance> each_;
};

double BruteDistance(const Mesh& mesh, const Vec3& p) {
  return BruteForce(mesh).Distance(p);
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

TEST(DistanceTest, NearQueriesThroughTheGridEqualTheTreeForAnyHint) {
  BandSpec spec;
  spec.segments = 256;
  spec.height_segments = 16;
  const Mesh band = Band(spec);
  const MeshDistance d(band);
  const BruteForce brute(band);
  size_t walked_to_closest = 0;
  std::mt19937 rng(11);
  std::uniform_int_distribution<uint32_t> any(
      0, static_cast<uint32_t>(band.triangles.size() - 1));
  std::uniform_real_distribution<double> noise(-0.05, 0.05);
  uint32_t hint = 0;
  for (size_t i = 0; i < band.vertices.size(); ++i) {
    // Points on and near the surface in surface order, the previous
    // answer as hint (the grid's case), then a random, far hint (the
    // tree's case); and points well away from the piece.
    const Vec3 p = band.vertices[i] + Vec3{noise(rng), noise(rng), noise(rng)};
    const ClosestPoint exact = d.Closest(p);
    const ClosestPoint near = d.ClosestNear(p, hint);
    ASSERT_EQ(near.distance, exact.distance) << i;
    ASSERT_EQ(near.signed_distance, exact.signed_distance) << i;
    if (i % 16 == 0) {
      ASSERT_EQ(near.distance, brute.Distance(p)) << i;
    }
    // Moved a little (an ICP step), the walk alone from its last answer
    // mostly finds the closest point; beside a vertex or a concave edge it
    // may stop at one further, but never further than the move allows.
    const Vec3 step{0.002, -0.001, 0.0015};
    const double walked = d.ClosestByWalking(p + step, exact.triangle).distance;
    const double closest = d.Closest(p + step).distance;
    ASSERT_GE(walked, closest) << i;
    ASSERT_LE(walked, closest + 2 * Norm(step) + 1e-12) << i;
    walked_to_closest += walked == closest;
    hint = near.triangle;
    ASSERT_EQ(d.ClosestNear(p, any(rng)).distance, exact.distance) << i;
    const Vec3 far = p * 1.7;
    ASSERT_EQ(d.ClosestNear(far, hint).distance, d.Closest(far).distance);
  }
  EXPECT_GT(walked_to_closest, 0.9 * band.vertices.size());
}

// Chunks of vertices taken by the threads in turn, summed in chunk order:
// the same numbers on any number of threads.
TEST(DistanceTest, DeviationDoesNotDependOnTheThreads) {
  BandSpec spec;
  spec.segments = 1024;
  spec.height_segments = 24;
  const Mesh twin = Band(spec);
  ASSERT_GT(twin.vertices.size(), 40000u);  // Several chunks.
  Mesh scan = testing::Moved(twin, {0, 0, 1}, 0.001, {0.002, 0, 0});
  std::mt19937 rng(9);
  std::uniform_real_distribution<double> noise(-0.004, 0.004);
  for (Vec3& v : scan.vertices) v += Vec3{noise(rng), noise(rng), noise(rng)};
  const MeshDistance reference(twin);
  const Deviation one = MeasureDeviation(scan, reference, 0.005, 1);
  // A twin this large has its grid built on two threads: spot checks
  // against the plain distance to every triangle.
  for (size_t i = 0; i < scan.vertices.size(); i += 1231) {
    double plain = INFINITY;
    for (size_t t = 0; t < twin.triangles.size(); ++t) {
      plain =
          std::min(plain, PlainDistance(scan.vertices[i], twin.Corner(t, 0),
                                        twin.Corner(t, 1), twin.Corner(t, 2)));
    }
    ASSERT_NEAR(std::abs(one.per_vertex[i]), plain, 1e-12) << i;
  }
  for (int threads : {2, 3}) {
    const Deviation many = MeasureDeviation(scan, reference, 0.005, threads);
    EXPECT_EQ(many.per_vertex, one.per_vertex) << threads;
    EXPECT_EQ(many.stats.rms, one.stats.rms) << threads;
    EXPECT_EQ(many.stats.mean_signed, one.stats.mean_signed) << threads;
    EXPECT_EQ(many.stats.p95_abs, one.stats.p95_abs) << threads;
    EXPECT_EQ(many.stats.within_tolerance, one.stats.within_tolerance);
    EXPECT_EQ(many.stats.worst_point, one.stats.worst_point) << threads;
  }
}

TEST(DistanceTest, CoverageEqualsSearchingEveryTwinVertex) {
  BandSpec spec;
  spec.segments = 128;
  spec.height_segments = 8;
  const Mesh twin = Band(spec);
  // The scan: finer, and without the triangles on one side (x > 6 mm), as
  // if the scanner missed them.
  BandSpec fine = spec;
  fine.segments = 300;
  fine.height_segments = 20;
  Mesh scan = Band(fine);
  std::vector<Triangle> kept;
  for (const Triangle& t : scan.triangles) {
    if (scan.vertices[t[0]].x < 6) kept.push_back(t);
  }
  scan.triangles = kept;
  const MeshDistance reference(twin);
  const Deviation to_twin = MeasureDeviation(scan, reference, 0.05, 2);
  const MeshDistance scan_surface(scan, false);
  const std::vector<double> areas = VertexAreas(twin);
  for (double radius : {0.01, 0.05, 0.15, 1.0}) {
    double total = 0, within = 0;
    for (size_t v = 0; v < twin.vertices.size(); ++v) {
      total += areas[v];
      if (scan_surface.Closest(twin.vertices[v]).distance <= radius) {
        within += areas[v];
      }
    }
    const double coverage = Coverage(twin, scan, to_twin, radius, 2);
    EXPECT_NEAR(coverage, within / total, 1e-12) << radius;
    EXPECT_LT(coverage, 0.9) << radius;
  }
  EXPECT_EQ(
      Coverage(twin, twin, MeasureDeviation(twin, reference, 0.05), 0.001),
      1.0);
}

TEST(DistanceTest, WeightedQuantilesEqualSortingEverything) {
  std::mt19937 rng(5);
  std::exponential_distribution<double> value(50);
  std::uniform_real_distribution<double> weight(0, 1);
  std::vector<double> values(20000), weights(20000);
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = value(rng);
    weights[i] = i % 10 == 0 ? 0 : weight(rng);
  }
  std::vector<std::pair<double, double>> sorted;
  double total = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (weights[i] > 0) sorted.push_back({values[i], weights[i]});
    total += weights[i];
  }
  std::sort(sorted.begin(), sorted.end());
  const std::vector<double> q = {0, 0.5, 0.95, 0.99, 1};
  const std::vector<double> got = WeightedQuantiles(values, weights, q);
  for (size_t j = 0; j < q.size(); ++j) {
    double seen = 0, expected = sorted.back().first;
    for (const auto& [v, w] : sorted) {
      seen += w;
      if (seen >= q[j] * total) {
        expected = v;
        break;
      }
    }
    EXPECT_EQ(got[j], expected) << q[j];
  }
  EXPECT_EQ(WeightedQuantiles({1, 2}, {0, 0}, {0.5})[0], 0);
}

TEST(DistanceTest, FloatsNextToAFloatAreStdNextafters) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<uint32_t> bits;
  std::vector<float> values = {0.0f,
                               -0.0f,
                               1.0f,
                               -1.0f,
                               std::numeric_limits<float>::denorm_min(),
                               -std::numeric_limits<float>::denorm_min(),
                               std::numeric_limits<float>::max(),
                               std::numeric_limits<float>::lowest()};
  while (values.size() < 10000) {
    const float f = std::bit_cast<float>(bits(rng));
    if (std::isfinite(f)) values.push_back(f);
  }
  for (float f : values) {
    ASSERT_EQ(std::bit_cast<uint32_t>(FloatBelow(f)),
              std::bit_cast<uint32_t>(std::nextafter(f, -INFINITY)))
        << f;
    ASSERT_EQ(std::bit_cast<uint32_t>(FloatAbove(f)),
              std::bit_cast<uint32_t>(std::nextafter(f, INFINITY)))
        << f;
    const double v = double(f) + 1e-30;
    EXPECT_LE(FloatDown(v), v);
    EXPECT_GE(FloatUp(v), v);
  }
}

TEST(DistanceTest, RadixSortSortsOnTheGivenBits) {
  std::mt19937_64 rng(9);
  std::vector<uint64_t> keys(100000);
  for (auto& k : keys) k = rng();
  std::vector<uint64_t> all = keys;
  RadixSort(&all, 0, 64);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  // On the high 30 bits only: sorted by them, stable below.
  std::vector<uint64_t> high = keys;
  RadixSort(&high, 34, 64);
  std::vector<uint64_t> expected = keys;
  std::stable_sort(expected.begin(), expected.end(),
                   [](uint64_t a, uint64_t b) { return a >> 34 < b >> 34; });
  EXPECT_EQ(high, expected);
}

TEST(DistanceTest, NearQueriesStayExactOnVeryUnevenTriangles) {
  // A fine band with a few sheets of enormous triangles through it: the
  // grid's cells grow (or the grid gives up) and the tree answers instead;
  // either way every answer equals the tree's.
  BandSpec spec;
  spec.segments = 200;
  spec.height_segments = 10;
  for (const double size : {1.0, 40.0, 4000.0}) {
    Mesh mesh = Band(spec);
    for (int k = 0; k < 4; ++k) {
      const auto n = static_cast<uint32_t>(mesh.vertices.size());
      const double z = 0.5 + k;
      mesh.vertices.push_back({-size, -size, z});
      mesh.vertices.push_back({size, -size, z + 0.1});
      mesh.vertices.push_back({0, size, z});
      mesh.triangles.push_back({n, n + 1, n + 2});
    }
    const MeshDistance d(mesh);
    std::mt19937 rng(23);
    std::uniform_real_distribution<double> noise(-0.2, 0.2);
    uint32_t hint = 0;
    for (size_t i = 0; i < mesh.vertices.size(); i += 3) {
      const Vec3 p =
          mesh.vertices[i] + Vec3{noise(rng), noise(rng), noise(rng)};
      const ClosestPoint near = d.ClosestNear(p, hint);
      ASSERT_EQ(near.distance, d.Closest(p).distance) << size << " " << i;
      if (i % 90 == 0) {
        ASSERT_NEAR(near.distance, BruteDistance(mesh, p), 1e-12);
      }
      hint = near.triangle;
    }
  }
}

}  // namespace
}  // namespace loupe::geometry
