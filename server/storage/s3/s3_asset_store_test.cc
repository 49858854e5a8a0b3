// The S3 asset engine's writes and reads over RocksDB and PostgreSQL,
// against a real Swift and a real PostgreSQL (s3_asset_store_test_fixture.h):
// round trips byte-identical in every upload mode, deduplication, refused
// digests storing nothing, a flipped byte as DATA_LOSS naming the asset,
// and the scrub's orphaned objects.

#include "server/storage/s3/s3_asset_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/file.h"
#include "base/str_cat.h"
#include "crypto/random.h"
#include "server/storage/s3/s3_asset_store_test_fixture.h"

namespace loupe::storage::s3::testing {

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
  // The engine asks for the digest up front above one part (the server
  // tells clients so, client/registry_client_test.cc).
  const auto above = store_->DigestFirstAbove();
  ASSERT_TRUE(above.has_value());
  EXPECT_LT(*above, uint64_t{20} << 20);
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
}  // namespace loupe::storage::s3::testing
