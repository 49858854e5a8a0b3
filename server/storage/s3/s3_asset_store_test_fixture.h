#pragma once

// The S3 asset engine's test fixture (s3_asset_store_test.cc: writes and
// reads over RocksDB and PostgreSQL; s3_asset_store_rocks_test.cc: the big,
// the disruptive and the operations cases over RocksDB): a bucket of a real
// Swift (test_swift_for_tests.h) per test, a real PostgreSQL
// (test_cluster_for_tests.h) when the engine is PostgreSQL, and
// deterministic bytes streamed without holding them twice. Tests only.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "base/str_cat.h"
#include "server/storage/open_store.h"
#include "server/storage/postgres/test_cluster_for_tests.h"
#include "server/storage/s3/s3_asset_store.h"
#include "server/storage/s3/test_swift_for_tests.h"

namespace loupe::storage::s3::testing {

namespace fs = std::filesystem;

// Deterministic bytes, 1 MiB block by block (xorshift), so that 100 MB
// never sit in memory twice.
inline std::string Block(uint64_t seed, uint64_t index, size_t size) {
  std::string out(size, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + index + 1;
  for (size_t i = 0; i < size; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(out.data() + i, &x, std::min<size_t>(8, size - i));
  }
  return out;
}

struct Uploaded {
  crypto::Sha256Digest sha{};
  uint64_t size = 0;
};

// Streams `size` deterministic bytes into a writer; returns their digest.
inline absl::StatusOr<Uploaded> Stream(AssetWriter& writer, uint64_t seed,
                                       uint64_t size) {
  crypto::Sha256 hasher;
  for (uint64_t at = 0, i = 0; at < size; at += 1 << 20, ++i) {
    const std::string block = Block(
        seed, i, static_cast<size_t>(std::min<uint64_t>(1 << 20, size - at)));
    hasher.Update(block);
    if (auto s = writer.Append(block); !s.ok()) return s;
  }
  return Uploaded{hasher.Finish(), size};
}

// The digest and size of everything a reader yields.
inline absl::StatusOr<Uploaded> Drain(AssetReader& reader) {
  crypto::Sha256 hasher;
  uint64_t size = 0;
  for (;;) {
    auto chunk = reader.NextChunk();
    if (!chunk.ok()) return chunk.status();
    if (!chunk->has_value()) return Uploaded{hasher.Finish(), size};
    hasher.Update(**chunk);
    size += (*chunk)->size();
  }
}

enum class Engine { kRocks, kPostgres };

class S3AssetStoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = fs::temp_directory_path() /
           StrCat("loupe-s3-assets-", getpid(), "-", counter++);
    fs::create_directories(dir_);
    auto client = SharedSwift().NewBucket("assets");
    ASSERT_TRUE(client.ok()) << client.status();
    bucket_ = *std::move(client);
    config_.set_data_dir((dir_ / "data").string());
    if (GetParam() == Engine::kPostgres) {
      auto& cluster = storage::testing::SharedPostgresCluster();
      auto url = cluster.CreateDatabase(cluster.UniqueName("s3assets"));
      ASSERT_TRUE(url.ok()) << url.status();
      config_.mutable_storage()->mutable_postgres()->set_url(*url);
      config_.mutable_storage()->mutable_postgres()->set_apply_migrations(true);
    }
    auto* s3 = config_.mutable_assets()->mutable_s3();
    const S3Options o = bucket_->options();
    s3->set_endpoint(o.endpoint);
    s3->set_bucket(o.bucket);
    s3->set_access_key_id(o.access_key_id);
    std::ofstream(dir_ / "secret") << o.secret_access_key << "\n";
    s3->set_secret_access_key_file((dir_ / "secret").string());
    s3->set_max_attempts(3);
    s3->set_orphan_grace_seconds(0);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto store = OpenStore(config_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  absl::StatusOr<AssetCommit> Upload(uint64_t seed, uint64_t size,
                                     std::string_view studio) {
    auto writer = store_->BeginUpload();
    if (!writer.ok()) return writer.status();
    auto sent = Stream(**writer, seed, size);
    if (!sent.ok()) return sent.status();
    return (*writer)->Commit(size, sent->sha, studio);
  }

  // With the digest declared up front (BeginUploadOf), as `loupe asset put`
  // does: streamed into the bucket as it arrives.
  absl::StatusOr<AssetCommit> UploadDeclared(uint64_t seed, uint64_t size,
                                             std::string_view studio) {
    crypto::Sha256 hasher;
    for (uint64_t at = 0, i = 0; at < size; at += 1 << 20, ++i) {
      hasher.Update(Block(seed, i, std::min<uint64_t>(1 << 20, size - at)));
    }
    const auto sha = hasher.Finish();
    auto writer = store_->BeginUploadOf(sha, size);
    if (!writer.ok()) return writer.status();
    auto sent = Stream(**writer, seed, size);
    if (!sent.ok()) return sent.status();
    return (*writer)->Commit(size, sent->sha, studio);
  }

  void ExpectRoundTrip(uint64_t size, bool declared = false) {
    auto commit = declared ? UploadDeclared(size, size, "st_a")
                           : Upload(size, size, "st_a");
    ASSERT_TRUE(commit.ok()) << commit.status();
    EXPECT_FALSE(commit->deduplicated);
    auto reader = store_->OpenAsset(commit->sha256);
    ASSERT_TRUE(reader.ok()) << reader.status();
    EXPECT_EQ((*reader)->size_bytes(), size);
    auto read = Drain(**reader);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->size, size);
    EXPECT_EQ(read->sha, commit->sha256);  // Byte-identical.
    auto head = bucket_->Head(ObjectKey(commit->sha256));
    ASSERT_TRUE(head.ok()) << head.status();
    EXPECT_EQ(head->size, size);
  }

  // Uploads over one part go as multipart uploads, not one streamed PUT.
  void UseMultipart(bool multipart = true) {
    auto* s3 = config_.mutable_assets()->mutable_s3();
    if (multipart) {
      s3->set_single_put_max_bytes(0);
    } else {
      s3->clear_single_put_max_bytes();
    }
    Reopen();
  }

  std::optional<uint64_t> RecordedSize(const crypto::Sha256Digest& sha) {
    std::optional<uint64_t> size;
    EXPECT_TRUE(store_
                    ->CommitAndWait([&](Transaction& txn) {
                      auto s = txn.FindAssetSize(sha);
                      if (!s.ok()) return s.status();
                      size = *s;
                      return absl::OkStatus();
                    })
                    .ok());
    return size;
  }

  fs::path dir_;
  v1::ServerConfig config_;
  std::unique_ptr<S3Client> bucket_;  // The same bucket, for checks.
  std::unique_ptr<Store> store_;

  // Bodies of tests run once per upload mode.
  void ExpectDeclaredWrongDigestStoresNothing();
  void ExpectWrongDigestStoresNothing();
  void ExpectServerStoppedMidStreamedUploadRecordsNothing(uint64_t seed);
};

}  // namespace loupe::storage::s3::testing
