// Scrub on a real store: clean after ordinary use; then with bytes
// damaged underneath it (one byte of an asset chunk, one byte of a log
// entry, a version deleted), it names each damaged record and changes
// nothing.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "crypto/sha256.h"
#include "server/storage/keys.h"
#include "server/storage/rocks/raw_db_for_tests.h"
#include "server/storage/rocks/store_fixture_for_tests.h"
#include "server/storage/store.h"

namespace loupe::storage {
namespace {

class ScrubTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    // Two chunks (1 MiB each at most) of patterned bytes.
    for (int i = 0; i < (3 << 19); ++i) bytes_ += static_cast<char>(i * 7);
    auto w = store_->BeginUpload();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(bytes_).ok());
    sha_ = crypto::Sha256::Of(bytes_);
    ASSERT_TRUE((*w)->Commit(bytes_.size(), sha_, "aurum").ok());
    for (const char* id : {"pc_1", "pc_2"}) {
      v1::Piece p;
      p.set_id(id);
      p.set_studio_id("aurum");
      p.set_studio_reference(std::string("ref-") + id);
      ASSERT_TRUE(ledger_->CreatePieceAndWait(p).ok());
      for (uint32_t n = 0; n < 2; ++n) {
        v1::TwinVersion v;
        v.set_piece_id(id);
        v.set_parent_number(n);
        auto* a = v.add_assets();
        a->set_sha256(crypto::ToHex(sha_));
        a->set_size_bytes(bytes_.size());
        ASSERT_TRUE(ledger_->AppendVersionAndWait(v, "aurum").ok());
      }
    }
  }

  std::string bytes_;
  crypto::Sha256Digest sha_{};
};

bool Mentions(const ScrubReport& r, const std::string& text) {
  for (const auto& p : r.problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST_F(ScrubTest, DamageIsNamedRecordByRecordAndNothingChanges) {
  store_.reset();
  {
    RawDbForTests raw(dir_.string());
    ASSERT_TRUE(raw.status().ok()) << raw.status().ToString();
    // One byte of the asset's second chunk.
    std::string meta, content_id, chunk;
    ASSERT_TRUE(raw.db()
                    ->Get(rocksdb::ReadOptions(), raw.cf("asset_meta"),
                          keys::AssetMeta(sha_), &meta)
                    .ok());
    content_id = meta.substr(2, keys::kContentIdSize);
    ASSERT_TRUE(raw.db()
                    ->Get(rocksdb::ReadOptions(), raw.cf("asset_chunks"),
                          keys::Chunk(content_id, 1), &chunk)
                    .ok());
    chunk[1000] ^= 0x20;
    ASSERT_TRUE(raw.db()
                    ->Put(rocksdb::WriteOptions(), raw.cf("asset_chunks"),
                          keys::Chunk(content_id, 1), chunk)
                    .ok());
    // One byte of log entry 2's JSON (after its 32-byte leaf hash).
    std::string entry;
    ASSERT_TRUE(raw.db()
                    ->Get(rocksdb::ReadOptions(), raw.cf("log"),
                          keys::LogEntry(2), &entry)
                    .ok());
    entry[40] ^= 0x01;
    ASSERT_TRUE(raw.db()
                    ->Put(rocksdb::WriteOptions(), raw.cf("log"),
                          keys::LogEntry(2), entry)
                    .ok());
    // pc_2's version 1, gone.
    ASSERT_TRUE(raw.db()
                    ->Delete(rocksdb::WriteOptions(), raw.cf("versions"),
                             keys::Version("pc_2", 1))
                    .ok());
  }
  Reopen();
  auto report = store_->Scrub();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->problems.size(), 3u);
  const std::string asset = "asset " + crypto::ToHex(sha_);
  EXPECT_TRUE(Mentions(*report, asset + ": chunk 1 of 2 fails its stored "
                                        "digest"));
  EXPECT_TRUE(Mentions(*report, "log entry 2: its bytes no longer match"));
  EXPECT_TRUE(Mentions(*report, "piece pc_2: version 1 is missing"));
  for (const auto& p : report->problems) std::cout << "  " << p << "\n";
  // Scrub changed nothing: a second run finds the same.
  auto again = store_->Scrub();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->problems, report->problems);
}

}  // namespace
}  // namespace loupe::storage
