// Conformance: asset streaming with digest and size checks, deduplication,
// abandoned uploads, and scrub naming a damaged asset.
#include <chrono>
#include <thread>

#include "server/storage/conformance/store_conformance.h"

namespace loupe::storage::conformance {
namespace {

constexpr size_t kMiB = 1 << 20;

bool Mentions(const ScrubReport& report, const std::string& text) {
  for (const auto& p : report.problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST_P(StoreConformanceTest, AssetsStreamInOddChunksAndReadBackIdentical) {
  const std::string bytes = RandomBytes(3 * kMiB + 12345, 1);
  const auto sha = crypto::Sha256::Of(bytes);
  auto w = store_->BeginUpload();
  ASSERT_TRUE(w.ok()) << w.status();
  for (size_t at = 0; at < bytes.size(); at += 70001) {  // Odd client chunks.
    ASSERT_TRUE((*w)->Append(std::string_view(bytes).substr(at, 70001)).ok());
  }
  EXPECT_EQ((*w)->bytes_received(), bytes.size());
  auto c = (*w)->Commit(bytes.size(), sha, "aurum");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->deduplicated);
  EXPECT_EQ(c->size_bytes, bytes.size());
  EXPECT_EQ(c->sha256, sha);
  w->reset();

  auto reader = store_->OpenAsset(sha);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->size_bytes(), bytes.size());
  std::string read;
  int chunks = 0;
  for (;;) {
    auto chunk = (*reader)->NextChunk();
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    if (!chunk->has_value()) break;
    EXPECT_FALSE((*chunk)->empty());
    read += **chunk;
    ++chunks;
  }
  EXPECT_GT(chunks, 1);  // Streamed, not in one piece.
  EXPECT_TRUE(read == bytes) << "the bytes read back differ";
  EXPECT_TRUE(*store_->IsAssetUploadedBy(sha, "aurum"));
  EXPECT_FALSE(*store_->IsAssetUploadedBy(sha, "bellini"));
  EXPECT_EQ(store_->CountStats()->assets, 1u);
}

TEST_P(StoreConformanceTest, IdenticalBytesFromTwoStudiosAreStoredOnce) {
  const std::string bytes = RandomBytes(kMiB + 7, 2);
  const auto sha = crypto::Sha256::Of(bytes);
  const char* studios[] = {"aurum", "bellini", "aurum"};
  for (int i = 0; i < 3; ++i) {
    const std::string studio = studios[i];
    auto w = store_->BeginUpload();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(bytes).ok());
    auto c = (*w)->Commit(bytes.size(), sha, studio);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->deduplicated, i > 0) << studio;
  }
  EXPECT_EQ(store_->CountStats()->assets, 1u);
  EXPECT_TRUE(*store_->IsAssetUploadedBy(sha, "aurum"));
  EXPECT_TRUE(*store_->IsAssetUploadedBy(sha, "bellini"));
  EXPECT_FALSE(*store_->IsAssetUploadedBy(sha, "cortese"));
  EXPECT_TRUE(*ReadAll(*store_, sha) == bytes);
  auto report = store_->Scrub();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->assets, 1u);
  EXPECT_EQ(report->asset_bytes, bytes.size());
}

TEST_P(StoreConformanceTest, MismatchedSizeOrDigestStoresNothing) {
  const std::string bytes = RandomBytes(kMiB + 5, 3);
  const auto sha = crypto::Sha256::Of(bytes);
  {
    auto w = store_->BeginUpload();
    ASSERT_TRUE((*w)->Append(bytes).ok());
    auto c = (*w)->Commit(bytes.size() + 1, sha, "aurum");
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("size_bytes"), std::string::npos)
        << c.status();
  }
  {
    auto w = store_->BeginUpload();
    ASSERT_TRUE((*w)->Append(bytes).ok());
    auto c = (*w)->Commit(bytes.size(), crypto::Sha256::Of("other"), "aurum");
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("sha256"), std::string::npos)
        << c.status();
  }
  auto stats = store_->CountStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->assets, 0u);
  EXPECT_EQ(stats->uploads_in_flight, 0u);
  EXPECT_EQ(store_->OpenAsset(sha).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->OpenAsset(crypto::Sha256::Of("other")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(*store_->IsAssetUploadedBy(sha, "aurum"));
  EXPECT_TRUE(store_->Scrub()->clean());
}

TEST_P(StoreConformanceTest, AnAbsentAssetIsNotFoundNamingSha256) {
  Upload("something else");
  auto r = store_->OpenAsset(crypto::Sha256::Of("never uploaded"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("sha256"), std::string::npos)
      << r.status();
}

TEST_P(StoreConformanceTest, AnAbandonedUploadLeavesNothing) {
  const std::string bytes = RandomBytes(kMiB + 1, 4);
  {
    auto w = store_->BeginUpload();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(bytes).ok());
    // An engine may stage on a thread of its own: wait until it counts.
    for (int i = 0; i < 500 && store_->CountStats()->uploads_in_flight == 0;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(store_->CountStats()->uploads_in_flight, 1u);
  }  // Destroyed without Commit: the client went away.
  auto stats = store_->CountStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->uploads_in_flight, 0u);
  EXPECT_EQ(stats->assets, 0u);
  EXPECT_EQ(store_->OpenAsset(crypto::Sha256::Of(bytes)).status().code(),
            absl::StatusCode::kNotFound);
  if (engine().persists()) {
    Reopen();
    EXPECT_EQ(store_->CountStats()->uploads_in_flight, 0u);
    EXPECT_EQ(store_->CountStats()->assets, 0u);
  }
  // The same bytes upload afresh, not as a duplicate.
  auto w = store_->BeginUpload();
  ASSERT_TRUE((*w)->Append(bytes).ok());
  auto c = (*w)->Commit(bytes.size(), crypto::Sha256::Of(bytes), "aurum");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->deduplicated);
}

TEST_P(StoreConformanceTest, AStoreInOrdinaryUseScrubsClean) {
  std::string bytes;
  for (int i = 0; i < (3 << 19); ++i) bytes += static_cast<char>(i * 7);
  const auto sha = Upload(bytes);
  for (const char* id : {"pc_1", "pc_2"}) {
    ASSERT_TRUE(ledger_->CreatePieceAndWait(MakePiece(id, "aurum", id)).ok());
    for (uint32_t n = 0; n < 2; ++n) {
      auto v = MakeVersion(id, n);
      auto* a = v.add_assets();
      a->set_sha256(crypto::ToHex(sha));
      a->set_size_bytes(bytes.size());
      ASSERT_TRUE(ledger_->AppendVersionAndWait(v, "aurum").ok());
    }
  }
  v1::Certificate c;
  c.set_id("ct_1");
  c.set_piece_id("pc_1");
  c.set_version(2);
  ASSERT_TRUE(ledger_->PutCertificateAndWait(c, "certificate").ok());
  ASSERT_TRUE(store_->SaveCheckpoint({5, *store_->LogRoot(5), "note"}).ok());
  auto report = store_->Scrub();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->problems.front();
  EXPECT_EQ(report->pieces, 2u);
  EXPECT_EQ(report->versions, 4u);
  EXPECT_EQ(report->certificates, 1u);
  EXPECT_EQ(report->assets, 1u);
  EXPECT_EQ(report->asset_bytes, bytes.size());
  EXPECT_EQ(report->log_entries, 5u);
  EXPECT_EQ(report->checkpoint_size, 5u);
}

TEST_P(StoreConformanceTest, ScrubNamesAnAssetWithAFlippedByte) {
  const std::string bytes = RandomBytes(2 * kMiB + 100, 5);
  const auto sha = Upload(bytes);
  const auto other = Upload(RandomBytes(1000, 6));
  FlipAssetByte(sha, kMiB + 1000);  // In the second MiB.
  auto report = store_->Scrub();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->clean());
  EXPECT_TRUE(Mentions(*report, "asset " + crypto::ToHex(sha)))
      << (report->clean() ? "" : report->problems.front());
  EXPECT_FALSE(Mentions(*report, crypto::ToHex(other)));
  EXPECT_EQ(report->assets, 2u);
  // Reads refuse the damaged bytes instead of serving them.
  auto read = ReadAll(*store_, sha);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(read.status().message().find(crypto::ToHex(sha)), std::string::npos)
      << read.status();
  EXPECT_NE(read.status().message().find("chunk 1"), std::string::npos)
      << read.status();
  EXPECT_TRUE(ReadAll(*store_, other).ok());
  // Scrub changes nothing: a second run finds the same.
  EXPECT_EQ(store_->Scrub()->problems, report->problems);
}

}  // namespace
}  // namespace loupe::storage::conformance
