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
  v1::Piece MakePiece(const std::string& id, const std::string& studio,
                      const std::string& ref) {
    v1::Piece p;
    p.set_id(id);
    p.set_studio_id(studio);
    p.set_studio_reference(ref);
    p.set_kind(v1::PIECE_KIND_RING);
    return p;
  }

  // Uploads `bytes` for `studio`; returns its digest.
  crypto::Sha256Digest Upload(const std::string& bytes,
                              const std::string& studio = "aurum") {
    auto w = store_->BeginUpload();
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Append(bytes).ok());
    auto sha = crypto::Sha256::Of(bytes);
    auto c = (*w)->Commit(bytes.size(), sha, studio);
    EXPECT_TRUE(c.ok()) << c.status();
    return sha;
  }

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

  v1::TwinVersion MakeVersion(const std::string& piece, uint32_t parent) {
    v1::TwinVersion v;
    v.set_piece_id(piece);
    v.set_parent_number(parent);
    v.set_reason(parent == 0 ? v1::VERSION_REASON_ORIGINAL
                             : v1::VERSION_REASON_RESIZE);
    return v;
  }
};

std::string RandomBytes(size_t n, int seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST_F(RocksStoreTest, PieceRoundTripsAndReferenceIsUniquePerStudio) {
  ASSERT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_1", "aurum", "R-1")).ok());
  auto dup = ledger_->CreatePieceAndWait(MakePiece("pc_2", "aurum", "R-1"));
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(dup.message().find("pc_1"), std::string::npos);
  EXPECT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_3", "bellini", "R-1")).ok());
  Reopen();
  auto p = store_->GetPiece("pc_1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->studio_reference(), "R-1");
  EXPECT_EQ(store_->GetPiece("pc_2").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RocksStoreTest, VersionsAppendInOrderAndAreNeverOverwritten) {
  ASSERT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_1", "aurum", "R-1")).ok());
  auto v1 = ledger_->AppendVersionAndWait(MakeVersion("pc_1", 0), "aurum");
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->number(), 1u);
  auto v2 = ledger_->AppendVersionAndWait(MakeVersion("pc_1", 1), "aurum");
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->number(), 2u);
  // A second child of version 1 would rewrite history: refused.
  auto again = MakeVersion("pc_1", 1);
  again.set_note("overwrite attempt");
  EXPECT_EQ(ledger_->AppendVersionAndWait(again, "aurum").status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(ledger_->AppendVersionAndWait(MakeVersion("pc_1", 0), "aurum")
                .status()
                .code(),
            absl::StatusCode::kAborted);
  Reopen();
  EXPECT_EQ(store_->GetPiece("pc_1")->current_version(), 2u);
  EXPECT_EQ(store_->GetVersion("pc_1", 0)->number(), 2u);
  EXPECT_TRUE(store_->GetVersion("pc_1", 2)->note().empty());
  EXPECT_EQ(store_->GetVersion("pc_1", 3).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RocksStoreTest, VersionAssetsMustBeUploadedByTheStudioWithTheirSize) {
  ASSERT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_1", "aurum", "R-1")).ok());
  const std::string bytes = "solid 18k";
  const auto other = Upload(bytes, "bellini");
  auto v = MakeVersion("pc_1", 0);
  auto* a = v.add_assets();
  a->set_sha256(crypto::ToHex(other));
  a->set_size_bytes(bytes.size());
  EXPECT_EQ(ledger_->AppendVersionAndWait(v, "aurum").status().code(),
            absl::StatusCode::kFailedPrecondition);
  Upload(bytes, "aurum");  // Deduplicated content, new uploader.
  a->set_size_bytes(bytes.size() + 1);
  auto wrong = ledger_->AppendVersionAndWait(v, "aurum");
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("assets[0].size_bytes"),
            std::string::npos);
  a->set_size_bytes(bytes.size());
  ASSERT_TRUE(ledger_->AppendVersionAndWait(v, "aurum").ok());
  EXPECT_TRUE(*store_->IsAssetOfPiece(other, "pc_1"));
  EXPECT_FALSE(*store_->IsAssetOfPiece(other, "pc_2"));
}

TEST_F(RocksStoreTest, PieceWithFirstVersionIsAllOrNothing) {
  const std::string bytes = "cad";
  const auto sha = Upload(bytes);
  auto first = MakeVersion("pc_1", 0);
  auto* asset = first.add_assets();
  asset->set_sha256(crypto::ToHex(sha));
  asset->set_size_bytes(bytes.size());
  ASSERT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_1", "aurum", "R-1"), first)
          .ok());
  EXPECT_EQ(store_->GetPiece("pc_1")->current_version(), 1u);
  EXPECT_EQ(store_->GetVersion("pc_1", 1)->assets(0).sha256(),
            crypto::ToHex(sha));
  EXPECT_TRUE(*store_->IsAssetOfPiece(sha, "pc_1"));

  // A first version the store refuses leaves no piece behind.
  auto bad = MakeVersion("pc_2", 0);
  bad.add_assets()->set_sha256(crypto::Sha256::HexOf("never uploaded"));
  auto s = ledger_->CreatePieceAndWait(MakePiece("pc_2", "aurum", "R-2"), bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("first_version.assets[0].sha256"),
            std::string::npos)
      << s;
  EXPECT_EQ(store_->GetPiece("pc_2").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_3", "aurum", "R-2")).ok());
}

TEST_F(RocksStoreTest, CertificatesAreKeptOncePerVersion) {
  ASSERT_TRUE(
      ledger_->CreatePieceAndWait(MakePiece("pc_1", "aurum", "R-1")).ok());
  auto put = [&](const std::string& id, uint32_t version) {
    v1::Certificate c;
    c.set_id(id);
    c.set_piece_id("pc_1");
    c.set_version(version);
    std::promise<absl::StatusOr<v1::Certificate>> result;
    ledger_->PutCertificate(c, "{}", [&](absl::StatusOr<v1::Certificate> r) {
      result.set_value(std::move(r));
    });
    return result.get_future().get();
  };
  EXPECT_EQ(put("ct_a", 1)->id(), "ct_a");
  EXPECT_EQ(put("ct_b", 1)->id(), "ct_a");  // Issued once per version.
  EXPECT_EQ(put("ct_c", 2)->id(), "ct_c");
  Reopen();
  EXPECT_EQ(store_->GetCertificate("ct_c")->version(), 2u);
  EXPECT_EQ(store_->GetCertificate("ct_b").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ((*store_->GetCertificateOf("pc_1", 1))->id(), "ct_a");
  EXPECT_FALSE(store_->GetCertificateOf("pc_1", 3)->has_value());
  auto all = store_->ListCertificates("pc_1");
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].id(), "ct_c");
}

TEST_F(RocksStoreTest, MultiChunkAssetRoundTripsAndDeduplicates) {
  const std::string bytes = RandomBytes(3 * kStoredChunkSize + 12345, 1);
  auto w = store_->BeginUpload();
  ASSERT_TRUE(w.ok());
  for (size_t i = 0; i < bytes.size(); i += 70001) {  // Odd client chunks.
    ASSERT_TRUE((*w)->Append(std::string_view(bytes).substr(i, 70001)).ok());
  }
  auto sha = crypto::Sha256::Of(bytes);
  auto c = (*w)->Commit(bytes.size(), sha, "aurum");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->deduplicated);
  w->reset();
  Reopen();
  auto read = ReadAll(sha);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(*read == bytes);
  auto w2 = store_->BeginUpload();
  ASSERT_TRUE((*w2)->Append(bytes).ok());
  auto c2 = (*w2)->Commit(bytes.size(), sha, "bellini");
  ASSERT_TRUE(c2.ok());
  EXPECT_TRUE(c2->deduplicated);
  w2->reset();
  auto stats = store_->CountStats();
  EXPECT_EQ(stats->assets, 1u);
  EXPECT_EQ(StoredChunks(), 4u);  // One copy only.
  EXPECT_TRUE(*store_->IsAssetUploadedBy(sha, "bellini"));
}

TEST_F(RocksStoreTest, MismatchedSizeOrDigestStoresNothing) {
  const std::string bytes = RandomBytes(kStoredChunkSize + 5, 2);
  const auto sha = crypto::Sha256::Of(bytes);
  {
    auto w = store_->BeginUpload();
    ASSERT_TRUE((*w)->Append(bytes).ok());
    auto c = (*w)->Commit(bytes.size() + 1, sha, "aurum");
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("size_bytes"), std::string::npos);
  }
  {
    auto w = store_->BeginUpload();
    ASSERT_TRUE((*w)->Append(bytes).ok());
    auto c = (*w)->Commit(bytes.size(), crypto::Sha256::Of("other"), "aurum");
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("sha256"), std::string::npos);
  }
  auto stats = store_->CountStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->assets, 0u);
  EXPECT_EQ(stats->uploads_in_flight, 0u);
  EXPECT_EQ(StoredChunks(), 0u);
  EXPECT_EQ(store_->OpenAsset(sha).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(*store_->IsAssetUploadedBy(sha, "aurum"));
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

TEST_F(RocksStoreTest, CorruptChunkIsReportedAsDataLossNotServed) {
  const std::string bytes = RandomBytes(2 * kStoredChunkSize, 3);
  const auto sha = Upload(bytes);
  store_.reset();
  {
    RawDbForTests raw(dir_.string());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    std::unique_ptr<rocksdb::Iterator> it(
        raw.db()->NewIterator({}, raw.cf("asset_chunks")));
    it->SeekToFirst();
    ASSERT_TRUE(it->Valid());
    it->Next();  // Flip one byte of the second chunk.
    std::string value = it->value().ToString();
    value[100] ^= 1;
    ASSERT_TRUE(
        raw.db()->Put({}, raw.cf("asset_chunks"), it->key(), value).ok());
  }
  Reopen();
  auto read = ReadAll(sha);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(read.status().message().find("chunk 1"), std::string::npos);
}

TEST_F(RocksStoreTest, ListsPageThroughPiecesAndVersions) {
  for (int i = 0; i < 25; ++i) {
    const std::string studio = i % 2 ? "aurum" : "bellini";
    ASSERT_TRUE(
        ledger_
            ->CreatePieceAndWait(MakePiece("pc_" + std::to_string(100 + i),
                                           studio, "R" + std::to_string(i)))
            .ok());
  }
  std::vector<std::string> seen;
  std::string after;
  for (;;) {
    auto page = store_->ListPieces("aurum", after, 5);
    ASSERT_TRUE(page.ok());
    for (const auto& p : page->pieces) {
      EXPECT_EQ(p.studio_id(), "aurum");
      seen.push_back(p.id());
    }
    if (!page->last_key) break;
    after = *page->last_key;
  }
  EXPECT_EQ(seen.size(), 12u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  auto all = store_->ListPieces("", "", 100);
  EXPECT_EQ(all->pieces.size(), 25u);
  EXPECT_FALSE(all->last_key.has_value());

  for (uint32_t n = 0; n < 7; ++n) {
    ASSERT_TRUE(
        ledger_->AppendVersionAndWait(MakeVersion("pc_101", n), "aurum").ok());
  }
  auto first = store_->ListVersions("pc_101", 0, 4);
  ASSERT_EQ(first->versions.size(), 4u);
  ASSERT_EQ(first->last_number, 4u);
  auto rest = store_->ListVersions("pc_101", 4, 4);
  ASSERT_EQ(rest->versions.size(), 3u);
  EXPECT_EQ(rest->versions[0].number(), 5u);
  EXPECT_FALSE(rest->last_number.has_value());
  EXPECT_EQ(store_->ListVersions("pc_nope", 0, 4).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace loupe::storage
