// The conformance suite's fixture and helpers (store_conformance.h).
#include "server/storage/conformance/store_conformance.h"

#include <unistd.h>

#include <random>
#include <utility>

namespace loupe::storage::conformance {

namespace fs = std::filesystem;

std::string EngineName(const ::testing::TestParamInfo<const Engine*>& info) {
  return info.param->name();
}

void StoreConformanceTest::SetUp() {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(test->test_suite_name()) + "_" + test->name();
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  dir_ = fs::temp_directory_path() /
         ("loupe_conformance_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir_);
  fs::create_directories(dir_ / "store");
  auto store = engine().Open((dir_ / "store").string());
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
  AttachLedger();
}

void StoreConformanceTest::TearDown() {
  restored_ledger_.reset();
  restored_.reset();
  ledger_.reset();
  store_.reset();
  fs::remove_all(dir_);
}

void StoreConformanceTest::AttachLedger() {
  ledger_ = std::make_unique<server::Ledger>(store_.get());
}

void StoreConformanceTest::Reopen() {
  ASSERT_TRUE(engine().persists()) << "Reopen() of an engine that forgets";
  ledger_.reset();
  store_.reset();
  auto store = engine().Open((dir_ / "store").string());
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
  AttachLedger();
}

void StoreConformanceTest::BackupAndRestore() {
  const fs::path backup = dir_ / "backup";
  const fs::path restored = dir_ / "restored";
  fs::create_directories(backup);
  fs::create_directories(restored);
  ASSERT_TRUE(store_->Backup(backup.string()).ok());
  auto store = engine().Restore(backup.string(), restored.string());
  ASSERT_TRUE(store.ok()) << store.status();
  restored_ = *std::move(store);
  restored_ledger_ = std::make_unique<server::Ledger>(restored_.get());
}

void StoreConformanceTest::FlipAssetByte(const crypto::Sha256Digest& sha256,
                                         uint64_t offset) {
  ledger_.reset();
  const absl::Status s =
      engine().FlipAssetByte(store_, (dir_ / "store").string(), sha256, offset);
  AttachLedger();
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_NE(store_, nullptr);
}

void StoreConformanceTest::RewriteLogEntry(uint64_t index,
                                           const std::string& entry) {
  ledger_.reset();
  const absl::Status s =
      engine().RewriteLogEntry(store_, (dir_ / "store").string(), index, entry);
  AttachLedger();
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_NE(store_, nullptr);
}

v1::Piece StoreConformanceTest::MakePiece(const std::string& id,
                                          const std::string& studio,
                                          const std::string& reference) {
  v1::Piece p;
  p.set_id(id);
  p.set_studio_id(studio);
  p.set_studio_reference(reference);
  p.set_kind(v1::PIECE_KIND_RING);
  return p;
}

v1::TwinVersion StoreConformanceTest::MakeVersion(const std::string& piece,
                                                  uint32_t parent) {
  v1::TwinVersion v;
  v.set_piece_id(piece);
  v.set_parent_number(parent);
  v.set_reason(parent == 0 ? v1::VERSION_REASON_ORIGINAL
                           : v1::VERSION_REASON_RESIZE);
  return v;
}

absl::Status StoreConformanceTest::AddPiece(const std::string& id,
                                            const std::string& studio,
                                            int versions) {
  auto s = ledger_->CreatePieceAndWait(MakePiece(id, studio, "ref-" + id));
  if (!s.ok()) return s;
  for (int i = 0; i < versions; ++i) {
    auto v = ledger_->AppendVersionAndWait(MakeVersion(id, i), studio);
    if (!v.ok()) return v.status();
  }
  return absl::OkStatus();
}

crypto::Sha256Digest StoreConformanceTest::Upload(const std::string& bytes,
                                                  const std::string& studio) {
  const auto sha = crypto::Sha256::Of(bytes);
  auto w = store_->BeginUpload();
  EXPECT_TRUE(w.ok()) << w.status();
  if (!w.ok()) return sha;
  EXPECT_TRUE((*w)->Append(bytes).ok());
  auto c = (*w)->Commit(bytes.size(), sha, studio);
  EXPECT_TRUE(c.ok()) << c.status();
  return sha;
}

absl::StatusOr<std::string> StoreConformanceTest::ReadAll(
    Store& store, const crypto::Sha256Digest& sha256) {
  return ReadAssetBytes(store, sha256);
}

CommitterGate::CommitterGate(Store& store) {
  std::shared_future<void> release = release_.get_future().share();
  std::future<void> running = running_.get_future();
  store.Commit(
      [this, release](Transaction&) {
        running_.set_value();
        release.wait();
        return absl::OkStatus();
      },
      [](absl::Status) {});
  running.wait();
}

void CommitterGate::Release() {
  if (released_) return;
  released_ = true;
  release_.set_value();
}

std::string RandomBytes(size_t n, int seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace loupe::storage::conformance
