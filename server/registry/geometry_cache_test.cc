// The geometry cache over a real store: one measurement per asset and
// format, shared by concurrent callers, answered on the pool; LRU bounds;
// read errors not cached; prefetches dropped at shutdown.
#include "server/registry/geometry_cache.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "base/file.h"
#include "geometry/geometry_hash.h"
#include "geometry/read_mesh.h"
#include "geometry/test_meshes.h"
#include "server/storage/memory/memory_fixture_for_tests.h"

namespace loupe::server {
namespace {

using Result = absl::StatusOr<GeometryCache::Measurement>;

class GeometryCacheTest : public storage::MemoryStoreFixture {
 protected:
  // Stores `bytes` as an asset; returns its digest.
  crypto::Sha256Digest Put(const std::string& bytes) {
    const crypto::Sha256Digest sha = crypto::Sha256::Of(bytes);
    auto writer = store_->BeginUpload();
    EXPECT_TRUE(writer.ok()) << writer.status();
    EXPECT_TRUE((*writer)->Append(bytes).ok());
    auto commit = (*writer)->Commit(bytes.size(), sha, "aurum");
    EXPECT_TRUE(commit.ok()) << commit.status();
    return sha;
  }

  // A band's binary STL; `segments` around makes each one different.
  static std::string Stl(int segments) {
    return geometry::testing::WriteStlBinary(geometry::testing::Band(
        geometry::testing::PlainBand(8.675, 10.175, 4.0, segments)));
  }

  // Get, waiting for the answer; notes the thread that gave it.
  Result GetAndWait(GeometryCache& cache, const crypto::Sha256Digest& sha,
                    const std::string& format, std::thread::id* on = nullptr) {
    std::promise<Result> answer;
    cache.Get(sha, format, [&](Result r) {
      if (on != nullptr) *on = std::this_thread::get_id();
      answer.set_value(std::move(r));
    });
    return answer.get_future().get();
  }

  // Occupies the pool's only thread until the returned promise is set.
  static std::promise<void> Block(WorkerPool& pool) {
    std::promise<void> release;
    pool.Submit([wait = release.get_future().share()] { wait.wait(); });
    return release;
  }
};

// STEP and 3MF assets are measured like meshes (geometry/cad): the seeds
// of their fuzzers, a 2 x 3 x 4 mm box written by OpenCASCADE and a
// tetrahedron written by lib3mf, moved by (1, 2, 3).
TEST_F(GeometryCacheTest, MeasuresStepAnd3mfAssets) {
  const std::string dir =
      std::string(LOUPE_SOURCE_DIR) + "/geometry/cad/fuzz/corpus/";
  auto step = ReadFileToString(dir + "step/box.step");
  auto three_mf = ReadFileToString(dir + "3mf/tetra.3mf");
  ASSERT_TRUE(step.ok() && three_mf.ok());
  EXPECT_EQ(MeshFormatOf("Ring.STEP"), "step");
  EXPECT_EQ(MeshFormatOf("ring.stp"), "stp");
  EXPECT_EQ(MeshFormatOf("ring.3mf"), "3mf");
  GeometryCache cache(store_.get(), nullptr, {});
  for (const char* format : {"step", "stp"}) {
    auto box = GetAndWait(cache, Put(*step), format);
    ASSERT_TRUE(box.ok()) << box.status();
    ASSERT_TRUE((*box)->mesh_status.ok()) << (*box)->mesh_status;
    EXPECT_NEAR((*box)->summary.volume_mm3(), 24, 1e-6);
    EXPECT_EQ((*box)->summary.geometry_hash_version(), 3u);
    EXPECT_EQ((*box)->summary.bbox_max().z(), 4);
  }
  auto tetra = GetAndWait(cache, Put(*three_mf), "3mf");
  ASSERT_TRUE(tetra.ok()) << tetra.status();
  ASSERT_TRUE((*tetra)->mesh_status.ok()) << (*tetra)->mesh_status;
  EXPECT_NEAR((*tetra)->summary.volume_mm3(), 1.0 / 6, 1e-6);
  EXPECT_EQ((*tetra)->summary.bbox_min().x(), 1);
  // A STEP name on bytes that are not STEP: refused, named.
  auto bad = GetAndWait(cache, Put("solid x\nendsolid x\n"), "step");
  ASSERT_TRUE(bad.ok());
  EXPECT_NE((*bad)->mesh_status.message().find("STEP: does not start"),
            std::string::npos)
      << (*bad)->mesh_status;
}

TEST_F(GeometryCacheTest, MeasuresOnceOnThePoolThenAnswersFromTheCache) {
  const std::string stl = Stl(64);
  const auto sha = Put(stl);
  WorkerPool pool(1);
  GeometryCache cache(store_.get(), &pool, {});
  std::thread::id on;
  auto first = GetAndWait(cache, sha, "stl", &on);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_NE(on, std::this_thread::get_id());  // Measured on the pool.
  ASSERT_TRUE((*first)->mesh_status.ok()) << (*first)->mesh_status;
  EXPECT_EQ(
      (*first)->summary.geometry_hash(),
      geometry::CanonicalGeometryHash(geometry::ParseMesh(stl, "x.stl")->mesh));
  EXPECT_GT((*first)->summary.volume_mm3(), 0);
  EXPECT_GT((*first)->summary.inner_diameter_mm(), 17);

  auto again = GetAndWait(cache, sha, "stl", &on);
  EXPECT_EQ(on, std::this_thread::get_id());  // Inline: cached.
  EXPECT_EQ(again->get(), first->get());
  EXPECT_EQ(cache.stats().measured, 1u);
  EXPECT_EQ(cache.stats().hits, 1u);
  EXPECT_EQ(cache.stats().entries, 1u);
}

TEST_F(GeometryCacheTest, CallersOfAMeasurementInFlightShareIt) {
  const auto sha = Put(Stl(48));
  WorkerPool pool(1);
  GeometryCache cache(store_.get(), &pool, {});
  auto release = Block(pool);
  cache.Prefetch(sha, "stl");  // As an upload's commit does.
  std::vector<std::promise<Result>> answers(3);
  for (auto& a : answers) {
    cache.Get(sha, "stl", [&a](Result r) { a.set_value(std::move(r)); });
  }
  cache.Prefetch(sha, "stl");  // Already in flight: nothing more.
  release.set_value();
  for (auto& a : answers) {
    auto r = a.get_future().get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE((*r)->mesh_status.ok());
  }
  EXPECT_EQ(cache.stats().measured, 1u);
}

TEST_F(GeometryCacheTest, TheFormatIsPartOfTheKeyAndRefusalsAreCached) {
  const auto sha = Put(Stl(32));
  GeometryCache cache(store_.get(), nullptr, {});  // Inline.
  auto as_stl = GetAndWait(cache, sha, "stl");
  auto as_obj = GetAndWait(cache, sha, "obj");
  ASSERT_TRUE(as_stl.ok() && as_obj.ok());
  EXPECT_TRUE((*as_stl)->mesh_status.ok());
  EXPECT_EQ((*as_obj)->mesh_status.code(), absl::StatusCode::kInvalidArgument)
      << (*as_obj)->mesh_status;
  EXPECT_TRUE(GetAndWait(cache, sha, "obj").ok());
  EXPECT_EQ(cache.stats().measured, 2u);
  EXPECT_EQ(cache.stats().entries, 2u);
}

TEST_F(GeometryCacheTest, AMeshOverTheTriangleLimitNamesTheLimit) {
  const auto sha = Put(Stl(64));  // 512 triangles.
  GeometryCache cache(store_.get(), nullptr, {.max_triangles = 100});
  auto r = GetAndWait(cache, sha, "stl");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->mesh_status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE((*r)->mesh_status.message().find("limits.max_mesh_triangles"),
            std::string::npos)
      << (*r)->mesh_status;
}

TEST_F(GeometryCacheTest, ReadErrorsAreNotCached) {
  GeometryCache cache(store_.get(), nullptr, {});
  const auto absent = crypto::Sha256::Of("never uploaded");
  EXPECT_EQ(GetAndWait(cache, absent, "stl").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(GetAndWait(cache, absent, "stl").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(cache.stats().measured, 2u);
  EXPECT_EQ(cache.stats().entries, 0u);
}

TEST_F(GeometryCacheTest, TheLeastRecentlyUsedGoFirstByCountAndBytes) {
  const auto a = Put(Stl(16)), b = Put(Stl(24)), c = Put(Stl(40));
  GeometryCache by_count(store_.get(), nullptr, {.max_entries = 2});
  ASSERT_TRUE(GetAndWait(by_count, a, "stl").ok());
  ASSERT_TRUE(GetAndWait(by_count, b, "stl").ok());
  ASSERT_TRUE(GetAndWait(by_count, a, "stl").ok());  // a is now the newest.
  ASSERT_TRUE(GetAndWait(by_count, c, "stl").ok());  // b goes.
  EXPECT_EQ(by_count.stats().entries, 2u);
  EXPECT_EQ(by_count.stats().measured, 3u);
  ASSERT_TRUE(GetAndWait(by_count, a, "stl").ok());
  EXPECT_EQ(by_count.stats().measured, 3u);  // Still cached.
  ASSERT_TRUE(GetAndWait(by_count, b, "stl").ok());
  EXPECT_EQ(by_count.stats().measured, 4u);  // Measured again.

  // Room for one and a half summaries (they cost alike): one stays.
  const size_t cost = by_count.stats().bytes / 2;
  ASSERT_GT(cost, 0u);
  GeometryCache by_bytes(store_.get(), nullptr, {.max_bytes = cost * 3 / 2});
  ASSERT_TRUE(GetAndWait(by_bytes, a, "stl").ok());
  ASSERT_TRUE(GetAndWait(by_bytes, b, "stl").ok());
  ASSERT_TRUE(GetAndWait(by_bytes, c, "stl").ok());
  EXPECT_EQ(by_bytes.stats().entries, 1u);
  EXPECT_LE(by_bytes.stats().bytes, cost * 3 / 2);
  ASSERT_TRUE(GetAndWait(by_bytes, c, "stl").ok());
  EXPECT_EQ(by_bytes.stats().measured, 3u);  // c stayed.
}

TEST_F(GeometryCacheTest, StopDropsPrefetchesNobodyWaitsFor) {
  const auto wanted = Put(Stl(20)), unwanted = Put(Stl(28));
  auto pool = std::make_unique<WorkerPool>(1);
  GeometryCache cache(store_.get(), pool.get(), {});
  auto release = Block(*pool);
  cache.Prefetch(unwanted, "stl");
  cache.Prefetch(wanted, "stl");
  std::promise<Result> answer;
  cache.Get(wanted, "stl", [&](Result r) { answer.set_value(std::move(r)); });
  cache.Stop();
  cache.Prefetch(Put(Stl(36)), "stl");  // After Stop: ignored.
  release.set_value();
  pool.reset();  // Drains.
  EXPECT_TRUE(answer.get_future().get().ok());
  EXPECT_EQ(cache.stats().measured, 1u);
}

}  // namespace
}  // namespace loupe::server
