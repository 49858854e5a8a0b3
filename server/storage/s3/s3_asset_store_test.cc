// The S3 asset engine over RocksDB and PostgreSQL, against a real Swift
// (test_swift_for_tests.h) and a real PostgreSQL (test_cluster_for_tests.h).

#include "server/storage/s3/s3_asset_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/file.h"
#include "base/str_cat.h"
#include "crypto/random.h"
#include "server/ops/migrate_assets.h"
#include "server/ops/restore.h"
#include "server/storage/open_store.h"
#include "server/storage/postgres/test_cluster_for_tests.h"
#include "server/storage/s3/test_swift_for_tests.h"

namespace loupe::storage::s3 {
namespace {

namespace fs = std::filesystem;
using testing::SharedSwift;

// Deterministic bytes, 1 MiB block by block (xorshift), so that 100 MB
// never sit in memory twice.
std::string Block(uint64_t seed, uint64_t index, size_t size) {
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
absl::StatusOr<Uploaded> Stream(AssetWriter& writer, uint64_t seed,
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
absl::StatusOr<Uploaded> Drain(AssetReader& reader) {
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

TEST_P(S3AssetStoreTest, OneMegabyteRoundTripsByteIdentical) {
  ExpectRoundTrip(1 << 20);
}

TEST_P(S3AssetStoreTest, MultipartFileRoundTripsByteIdentical) {
  UseMultipart();
  // 8 MiB parts: three parts, the last short.
  ExpectRoundTrip((20 << 20) + 12345);
}

TEST_P(S3AssetStoreTest, DeclaredMultipartUploadStreamsByteIdentical) {
  UseMultipart();
  ExpectRoundTrip((20 << 20) + 777, /*declared=*/true);
}

TEST_P(S3AssetStoreTest, SpooledFileGoesAsOnePutByteIdentical) {
  ExpectRoundTrip((20 << 20) + 12345);
}

TEST_P(S3AssetStoreTest, DeclaredUploadStreamsAsOnePutByteIdentical) {
  ExpectRoundTrip((20 << 20) + 777, /*declared=*/true);
}

TEST_P(S3AssetStoreTest, DeclaredUploadOfStoredBytesIsDeduplicated) {
  auto a = Upload(8, 10 << 20, "st_a");
  auto b = UploadDeclared(8, 10 << 20, "st_b");
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  EXPECT_TRUE(b->deduplicated);
  auto uploads = bucket_->ListMultipartUploads("");
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty());
}

// A studio cannot claim an asset it does not have by declaring its digest:
// the bucket already holds it, so nothing is sent, but the bytes are still
// hashed and refused.
TEST_P(S3AssetStoreTest, DeclaringAStoredDigestWithOtherBytesIsRefused) {
  auto stored = Upload(8, 10 << 20, "st_a");
  ASSERT_TRUE(stored.ok()) << stored.status();
  auto writer = store_->BeginUploadOf(stored->sha256, 10 << 20);
  ASSERT_TRUE(writer.ok());
  auto sent = Stream(**writer, 9, 10 << 20);  // Other bytes, same size.
  ASSERT_TRUE(sent.ok()) << sent.status();
  auto commit = (*writer)->Commit(10 << 20, stored->sha256, "st_b");
  EXPECT_TRUE(absl::IsInvalidArgument(commit.status())) << commit.status();
  EXPECT_FALSE(*store_->IsAssetUploadedBy(stored->sha256, "st_b"));
  EXPECT_TRUE(*store_->IsAssetUploadedBy(stored->sha256, "st_a"));
}

TEST_P(S3AssetStoreTest, DeclaredWrongDigestStoresNothing) {
  for (bool multipart : {false, true}) {
    SCOPED_TRACE(multipart ? "multipart" : "one PUT");
    UseMultipart(multipart);
    ExpectDeclaredWrongDigestStoresNothing();
  }
}

void S3AssetStoreTest::ExpectDeclaredWrongDigestStoresNothing() {
  crypto::Sha256Digest wrong{};
  wrong[0] = 1;
  auto writer = store_->BeginUploadOf(wrong, 17 << 20);
  ASSERT_TRUE(writer.ok());
  auto sent = Stream(**writer, 5, 17 << 20);
  ASSERT_TRUE(sent.ok()) << sent.status();
  auto commit = (*writer)->Commit(17 << 20, wrong, "st_a");
  EXPECT_TRUE(absl::IsInvalidArgument(commit.status())) << commit.status();
  writer->reset();  // Aborts the multipart upload.
  EXPECT_EQ(RecordedSize(wrong), std::nullopt);
  auto objects = bucket_->List("");
  ASSERT_TRUE(objects.ok());
  EXPECT_TRUE(objects->objects.empty());
  auto uploads = bucket_->ListMultipartUploads("");
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty());
}

TEST_P(S3AssetStoreTest, SameBytesFromTwoStudiosAreStoredOnce) {
  auto a = Upload(7, 3 << 20, "st_a");
  auto b = Upload(7, 3 << 20, "st_b");
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  EXPECT_EQ(a->sha256, b->sha256);
  EXPECT_FALSE(a->deduplicated);
  EXPECT_TRUE(b->deduplicated);
  auto objects = bucket_->List("assets/");
  ASSERT_TRUE(objects.ok());
  EXPECT_EQ(objects->objects.size(), 1u);
  EXPECT_TRUE(*store_->IsAssetUploadedBy(a->sha256, "st_a"));
  EXPECT_TRUE(*store_->IsAssetUploadedBy(a->sha256, "st_b"));
  EXPECT_EQ(RecordedSize(a->sha256), 3u << 20);
}

TEST_P(S3AssetStoreTest, FlippedByteInTheBucketIsDataLossNamingTheAsset) {
  auto commit = Upload(3, 2 << 20, "st_a");
  ASSERT_TRUE(commit.ok()) << commit.status();
  const std::string hex = crypto::ToHex(commit->sha256);
  auto bytes = bucket_->Get(ObjectKey(commit->sha256));
  ASSERT_TRUE(bytes.ok());
  (*bytes)[1500000] ^= 1;  // In the second chunk.
  ASSERT_TRUE(bucket_->Put(ObjectKey(commit->sha256), *bytes).ok());

  auto reader = store_->OpenAsset(commit->sha256);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto first = (*reader)->NextChunk();  // Chunk 0 is intact.
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = (*reader)->NextChunk();
  ASSERT_TRUE(absl::IsDataLoss(second.status())) << second.status();
  EXPECT_NE(second.status().message().find(hex), std::string::npos);

  auto report = store_->Scrub();
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_NE(report->problems[0].find(hex), std::string::npos)
      << report->problems[0];
}

TEST_P(S3AssetStoreTest, WrongDigestStoresNothingInOnePutOrInParts) {
  for (bool multipart : {false, true}) {
    SCOPED_TRACE(multipart ? "multipart" : "one PUT");
    UseMultipart(multipart);
    ExpectWrongDigestStoresNothing();
  }
}

void S3AssetStoreTest::ExpectWrongDigestStoresNothing() {
  auto writer = store_->BeginUpload();
  ASSERT_TRUE(writer.ok());
  auto sent = Stream(**writer, 5, 17 << 20);
  ASSERT_TRUE(sent.ok());
  crypto::Sha256Digest wrong = sent->sha;
  wrong[0] ^= 1;
  auto commit = (*writer)->Commit(sent->size, wrong, "st_a");
  EXPECT_TRUE(absl::IsInvalidArgument(commit.status())) << commit.status();
  EXPECT_EQ(RecordedSize(wrong), std::nullopt);
  auto objects = bucket_->List("");
  ASSERT_TRUE(objects.ok());
  EXPECT_TRUE(objects->objects.empty());
  auto uploads = bucket_->ListMultipartUploads("");
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty());
}

TEST_P(S3AssetStoreTest, ScrubReportsOrphanedObjectsAndRemovesThemOnRequest) {
  auto kept = Upload(11, 1000, "st_a");
  ASSERT_TRUE(kept.ok()) << kept.status();
  const std::string orphan = StrCat("assets/", std::string(64, 'a'));
  ASSERT_TRUE(bucket_->Put(orphan, "stray").ok());
  auto report = store_->Scrub();
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_NE(report->problems[0].find("orphaned object " + orphan),
            std::string::npos)
      << report->problems[0];

  config_.mutable_assets()->mutable_s3()->set_scrub_removes_orphans(true);
  Reopen();
  report = store_->Scrub();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->problems[0];
  ASSERT_EQ(report->notes.size(), 1u);
  EXPECT_TRUE(absl::IsNotFound(bucket_->Head(orphan).status()));
  EXPECT_TRUE(bucket_->Head(ObjectKey(kept->sha256)).ok());
}

INSTANTIATE_TEST_SUITE_P(Engines, S3AssetStoreTest,
                         ::testing::Values(Engine::kRocks, Engine::kPostgres),
                         [](const auto& info) {
                           return info.param == Engine::kRocks ? "RocksDb"
                                                               : "Postgres";
                         });

// RocksDB only: the big and the disruptive cases.
class S3AssetStoreRocksTest : public S3AssetStoreTest {};

TEST_P(S3AssetStoreRocksTest, HundredMegabytesRoundTripByteIdentical) {
  ExpectRoundTrip(100u << 20);
}

// A download is one streamed GET: the bucket going away mid-way is
// UNAVAILABLE (after the retries, which resume where it broke off), never
// an unchecked byte; a read after the restart is whole.
TEST_P(S3AssetStoreRocksTest, ServerStoppedMidDownloadIsUnavailable) {
  auto asset = Upload(31, 48 << 20, "st_a");
  ASSERT_TRUE(asset.ok()) << asset.status();
  auto reader = store_->OpenAsset(asset->sha256);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto first = (*reader)->NextChunk();
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status();
  SharedSwift().Kill();
  absl::Status failed;
  for (int i = 1; i < 48 && failed.ok(); ++i) {
    auto chunk = (*reader)->NextChunk();
    if (!chunk.ok()) failed = chunk.status();
  }
  EXPECT_TRUE(absl::IsUnavailable(failed)) << failed;
  ASSERT_TRUE(SharedSwift().Resume().ok());
  reader->reset();
  auto again = store_->OpenAsset(asset->sha256);
  ASSERT_TRUE(again.ok()) << again.status();
  auto read = Drain(**again);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->sha, asset->sha256);
}

// Last in the binary's order matters not: Kill/Resume keep the ports.
TEST_P(S3AssetStoreRocksTest,
       ServerStoppedMidUploadIsUnavailableAndRecordsNothing) {
  auto writer = store_->BeginUpload();
  ASSERT_TRUE(writer.ok());
  crypto::Sha256 hasher;
  const std::string half = Block(9, 0, 6 << 20);
  ASSERT_TRUE((*writer)->Append(half).ok());
  SharedSwift().Kill();
  ASSERT_TRUE((*writer)->Append(half).ok());
  hasher.Update(half);
  hasher.Update(half);
  const auto sha = hasher.Finish();
  auto commit = (*writer)->Commit(12 << 20, sha, "st_a");
  EXPECT_TRUE(absl::IsUnavailable(commit.status())) << commit.status();
  writer->reset();
  ASSERT_TRUE(SharedSwift().Resume().ok());
  EXPECT_EQ(RecordedSize(sha), std::nullopt);
  EXPECT_FALSE(*store_->IsAssetUploadedBy(sha, "st_a"));

  auto retry = store_->BeginUpload();
  ASSERT_TRUE(retry.ok());
  ASSERT_TRUE((*retry)->Append(half).ok());
  ASSERT_TRUE((*retry)->Append(half).ok());
  auto again = (*retry)->Commit(12 << 20, sha, "st_a");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(RecordedSize(sha), 12u << 20);
  auto reader = store_->OpenAsset(sha);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto read = Drain(**reader);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->sha, sha);
}

TEST_P(S3AssetStoreRocksTest,
       ServerStoppedMidStreamedUploadIsUnavailableAndItsPartsAborted) {
  for (bool multipart : {false, true}) {
    SCOPED_TRACE(multipart ? "multipart" : "one PUT");
    UseMultipart(multipart);
    ExpectServerStoppedMidStreamedUploadRecordsNothing(multipart ? 4 : 14);
  }
}

void S3AssetStoreTest::ExpectServerStoppedMidStreamedUploadRecordsNothing(
    uint64_t seed) {
  const uint64_t size = 24 << 20;
  crypto::Sha256 hasher;
  for (uint64_t i = 0; i < 24; ++i) hasher.Update(Block(seed, i, 1 << 20));
  const auto sha = hasher.Finish();
  auto writer = store_->BeginUploadOf(sha, size);
  ASSERT_TRUE(writer.ok());
  absl::Status failed;
  for (uint64_t i = 0; i < 24 && failed.ok(); ++i) {
    if (i == 10) SharedSwift().Kill();  // After the first part went.
    failed = (*writer)->Append(Block(seed, i, 1 << 20));
  }
  if (failed.ok()) failed = (*writer)->Commit(size, sha, "st_a").status();
  EXPECT_TRUE(absl::IsUnavailable(failed)) << failed;
  ASSERT_TRUE(SharedSwift().Resume().ok());
  writer->reset();  // Aborts the multipart upload now that Swift is back.
  EXPECT_EQ(RecordedSize(sha), std::nullopt);
  auto uploads = bucket_->ListMultipartUploads("");
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->empty());
  auto again = UploadDeclared(seed, size, "st_a");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(RecordedSize(sha), size);
}

// A version citing `sha` (as the ledger writes one).
void CiteInVersion(Store& store, const std::string& piece_id,
                   const crypto::Sha256Digest& sha, uint64_t size) {
  ASSERT_TRUE(store
                  .CommitAndWait([&](Transaction& txn) {
                    v1::Piece piece;
                    piece.set_id(piece_id);
                    piece.set_studio_id("st_a");
                    piece.set_studio_reference("ref-" + piece_id);
                    piece.set_current_version(1);
                    txn.InsertPiece(piece);
                    v1::TwinVersion version;
                    version.set_piece_id(piece_id);
                    version.set_number(1);
                    auto* ref = version.add_assets();
                    ref->set_sha256(crypto::ToHex(sha));
                    ref->set_size_bytes(size);
                    txn.InsertVersion(version);
                    return absl::OkStatus();
                  })
                  .ok());
}

// Backup covers the bucket: the backup lists every object a version cites
// after checking it is there, fails naming the asset and the version when
// one is missing, and a restore through the bucket scrubs its bytes.
TEST_P(S3AssetStoreRocksTest, BackupChecksTheBucketAndRestoreScrubsIt) {
  auto asset = Upload(21, 3 << 20, "st_a");
  ASSERT_TRUE(asset.ok()) << asset.status();
  const std::string hex = crypto::ToHex(asset->sha256);
  CiteInVersion(*store_, "pc_backup", asset->sha256, 3 << 20);
  const fs::path backup = dir_ / "backup";
  fs::create_directories(backup);
  ASSERT_TRUE(store_->Backup(backup.string()).ok());
  auto read = ReadFileToString((backup / "bucket-manifest.tsv").string());
  ASSERT_TRUE(read.ok()) << read.status();
  const std::string& manifest = *read;
  EXPECT_NE(
      manifest.find(StrCat(hex, "\t", 3 << 20, "\t", ObjectKey(asset->sha256))),
      std::string::npos)
      << manifest;

  // Uploaded after the backup: not the restored registry's, yet the live
  // one's, so the restore neither reports nor removes it.
  auto later = Upload(22, 2 << 20, "st_a");
  ASSERT_TRUE(later.ok()) << later.status();
  v1::ServerConfig elsewhere = config_;
  elsewhere.set_data_dir((dir_ / "restored").string());
  elsewhere.mutable_assets()->mutable_s3()->set_scrub_removes_orphans(true);
  std::ostringstream out;
  const absl::Status restored =
      server::RestoreBackup(backup.string(), elsewhere, out);
  EXPECT_TRUE(restored.ok()) << restored << "\n" << out.str();
  EXPECT_NE(out.str().find("verifying the objects its versions cite"),
            std::string::npos)
      << out.str();
  EXPECT_TRUE(bucket_->Head(ObjectKey(later->sha256)).ok());

  // A changed byte in the bucket: the restore's verification names it.
  auto bytes = bucket_->Get(ObjectKey(asset->sha256));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  (*bytes)[12345] ^= 1;
  ASSERT_TRUE(bucket_->Put(ObjectKey(asset->sha256), *bytes).ok());
  elsewhere.set_data_dir((dir_ / "restored2").string());
  std::ostringstream again;
  const absl::Status damaged =
      server::RestoreBackup(backup.string(), elsewhere, again);
  EXPECT_TRUE(absl::IsDataLoss(damaged)) << damaged;
  EXPECT_NE(again.str().find("asset " + hex), std::string::npos) << again.str();

  // The object gone: a backup would cite what the bucket lacks.
  ASSERT_TRUE(bucket_->Delete(ObjectKey(asset->sha256)).ok());
  const fs::path second = dir_ / "backup2";
  fs::create_directories(second);
  const absl::Status refused = store_->Backup(second.string());
  EXPECT_TRUE(absl::IsDataLoss(refused)) << refused;
  EXPECT_NE(refused.message().find(hex), std::string_view::npos) << refused;
  EXPECT_NE(refused.message().find("piece pc_backup version 1"),
            std::string_view::npos)
      << refused;
}

// An asset stored in the engine before assets { s3 } was configured:
// readable through the S3 store, then moved by migrate-assets (verified in
// the bucket, the engine's copy freed), then read from the bucket.
TEST_P(S3AssetStoreRocksTest, MigrateAssetsMovesEngineAssetsToTheBucket) {
  store_.reset();
  v1::ServerConfig engine_only = config_;
  engine_only.clear_assets();
  crypto::Sha256Digest sha{};
  {
    auto engine = OpenStore(engine_only);
    ASSERT_TRUE(engine.ok()) << engine.status();
    auto writer = (*engine)->BeginUpload();
    ASSERT_TRUE(writer.ok());
    auto sent = Stream(**writer, 21, 3 << 20);
    ASSERT_TRUE(sent.ok());
    sha = sent->sha;
    ASSERT_TRUE((*writer)->Commit(sent->size, sha, "st_a").ok());
    ASSERT_TRUE((*engine)
                    ->CommitAndWait([&](Transaction& txn) {
                      v1::Piece piece;
                      piece.set_id("pc_migrate");
                      piece.set_studio_id("st_a");
                      piece.set_studio_reference("M-1");
                      piece.set_current_version(1);
                      txn.InsertPiece(piece);
                      v1::TwinVersion version;
                      version.set_piece_id("pc_migrate");
                      version.set_number(1);
                      version.add_assets()->set_sha256(crypto::ToHex(sha));
                      txn.InsertVersion(version);
                      return absl::OkStatus();
                    })
                    .ok());
  }
  Reopen();  // With the bucket: the engine's bytes are still served.
  auto before = store_->OpenAsset(sha);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(Drain(**before)->sha, sha);
  before->reset();
  store_.reset();

  std::ostringstream out;
  auto s = server::MigrateAssets(config_, out);
  ASSERT_TRUE(s.ok()) << s << out.str();
  EXPECT_NE(out.str().find("1 asset(s) moved"), std::string::npos) << out.str();
  ASSERT_TRUE(bucket_->Head(ObjectKey(sha)).ok());
  {
    auto engine = OpenStore(engine_only);
    ASSERT_TRUE(engine.ok());
    EXPECT_TRUE(IsExternalAsset((*engine)->OpenAsset(sha).status()));
  }
  std::ostringstream again;
  ASSERT_TRUE(server::MigrateAssets(config_, again).ok());
  EXPECT_NE(again.str().find("1 already in the bucket"), std::string::npos)
      << again.str();
  Reopen();
  auto after = store_->OpenAsset(sha);
  ASSERT_TRUE(after.ok()) << after.status();
  auto read = Drain(**after);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->sha, sha);
  auto report = store_->Scrub();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->clean()) << report->problems[0];
}

INSTANTIATE_TEST_SUITE_P(Rocks, S3AssetStoreRocksTest,
                         ::testing::Values(Engine::kRocks));

}  // namespace
}  // namespace loupe::storage::s3
