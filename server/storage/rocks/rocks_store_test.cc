// The RocksDB engine where the conformance suite (conformance/) cannot
// look: asset chunks and staging files on disk.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "server/storage/keys.h"
#include "server/storage/rocks/raw_db_for_tests.h"
#include "server/storage/rocks/rocks_assets.h"
#include "server/storage/rocks/store_fixture_for_tests.h"
#include "server/storage/store.h"

namespace loupe::storage {
namespace {

namespace fs = std::filesystem;

class RocksStoreTest : public StoreFixture {
 protected:
  // Chunks in the asset_chunks column family (closes and reopens the store).
  uint64_t StoredChunks() {
    store_.reset();
    ledger_.reset();
    uint64_t n = 0;
    {
      RawDbForTests raw(dir_.string());
      EXPECT_TRUE(raw.status().ok()) << raw.status().ToString();
      std::unique_ptr<rocksdb::Iterator> it(
          raw.db()->NewIterator({}, raw.cf("asset_chunks")));
      for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    }
    Reopen();
    return n;
  }

  absl::StatusOr<std::string> ReadAll(const crypto::Sha256Digest& sha) {
    auto r = store_->OpenAsset(sha);
    if (!r.ok()) return r.status();
    std::string out;
    for (;;) {
      auto chunk = (*r)->NextChunk();
      if (!chunk.ok()) return chunk.status();
      if (!chunk->has_value()) return out;
      out += **chunk;
    }
  }
};

std::string RandomBytes(size_t n, int seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// What the conformance suite cannot see: chunks on disk. A deduplicated
// upload keeps one copy of its chunks; a refused one leaves none.
TEST_F(RocksStoreTest, UploadsKeepOneCopyOfTheirChunksOnDisk) {
  const std::string bytes = RandomBytes(3 * kStoredChunkSize + 12345, 1);
  const auto sha = crypto::Sha256::Of(bytes);
  for (const char* studio : {"aurum", "bellini"}) {
    auto w = store_->BeginUpload();
    ASSERT_TRUE(w.ok());
    for (size_t i = 0; i < bytes.size(); i += 70001) {  // Odd client chunks.
      ASSERT_TRUE((*w)->Append(std::string_view(bytes).substr(i, 70001)).ok());
    }
    auto c = (*w)->Commit(bytes.size(), sha, studio);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->deduplicated, std::string(studio) == "bellini");
  }
  EXPECT_EQ(StoredChunks(), 4u);  // One copy only.
  auto read = ReadAll(sha);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(*read == bytes);
}

TEST_F(RocksStoreTest, RefusedUploadsLeaveNoChunksOnDisk) {
  const std::string bytes = RandomBytes(kStoredChunkSize + 5, 2);
  const auto sha = crypto::Sha256::Of(bytes);
  for (uint64_t size : {bytes.size() + 1, bytes.size()}) {
    auto w = store_->BeginUpload();
    ASSERT_TRUE((*w)->Append(bytes).ok());
    const auto digest = size == bytes.size() ? crypto::Sha256::Of("x") : sha;
    EXPECT_EQ((*w)->Commit(size, digest, "aurum").status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(StoredChunks(), 0u);
  EXPECT_TRUE(fs::is_empty(dir_ / "staging"));
}

TEST_F(RocksStoreTest, StagingLeftByACrashIsSweptOnOpen) {
  auto w = store_->BeginUpload();
  ASSERT_TRUE((*w)->Append(RandomBytes(kStoredChunkSize + 1, 4)).ok());
  // The staging file is written by the upload's writer thread.
  for (int i = 0; i < 500 && store_->CountStats()->uploads_in_flight == 0;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(store_->CountStats()->uploads_in_flight, 1u);
  // A crash leaves the staging file behind: simulate it with a copy.
  fs::copy(dir_ / "staging", dir_ / "left-behind", fs::copy_options::recursive);
  w->reset();
  EXPECT_EQ(store_->CountStats()->uploads_in_flight, 0u);
  store_.reset();
  fs::remove_all(dir_ / "staging");
  fs::rename(dir_ / "left-behind", dir_ / "staging");
  ASSERT_FALSE(fs::is_empty(dir_ / "staging"));
  Reopen();
  auto stats = store_->CountStats();
  EXPECT_EQ(stats->uploads_in_flight, 0u);
  EXPECT_TRUE(fs::is_empty(dir_ / "staging"));
  EXPECT_EQ(StoredChunks(), 0u);
}

}  // namespace
}  // namespace loupe::storage
