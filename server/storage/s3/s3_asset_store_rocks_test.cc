// The S3 asset engine over RocksDB, against a real Swift
// (s3_asset_store_test_fixture.h): 100 MB byte-identical, the S3 server
// stopped mid-download and mid-upload, backup and restore through the
// bucket, and migrate-assets.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/file.h"
#include "base/str_cat.h"
#include "crypto/random.h"
#include "server/ops/migrate_assets.h"
#include "server/ops/restore.h"
#include "server/storage/s3/s3_asset_store.h"
#include "server/storage/s3/s3_asset_store_test_fixture.h"

namespace loupe::storage::s3::testing {

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

}  // namespace loupe::storage::s3::testing
