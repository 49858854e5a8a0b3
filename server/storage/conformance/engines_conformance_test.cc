// The storage conformance suite (store_conformance.h) on every engine: in
// memory and RocksDB.
#include <rocksdb/db.h>

#include "server/storage/conformance/store_conformance.h"
#include "server/storage/keys.h"
#include "server/storage/memory/memory_store.h"
#include "server/storage/rocks/raw_db_for_tests.h"
#include "server/storage/rocks/rocks_assets.h"
#include "server/storage/rocks/rocks_store.h"

namespace loupe::storage::conformance {
namespace {

class MemoryEngine final : public Engine {
 public:
  std::string name() const override { return "Memory"; }
  absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::string&) const override {
    return std::unique_ptr<Store>(NewMemoryStore());
  }
  bool persists() const override { return false; }
  absl::StatusOr<std::unique_ptr<Store>> Restore(
      const std::string& backup_dir, const std::string&) const override {
    auto store = RestoreMemoryStore(backup_dir);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(*std::move(store));
  }
  absl::Status FlipAssetByte(std::unique_ptr<Store>& store, const std::string&,
                             const crypto::Sha256Digest& sha256,
                             uint64_t offset) const override {
    return static_cast<MemoryStore&>(*store).FlipAssetByteForTests(sha256,
                                                                   offset);
  }
  absl::Status RewriteLogEntry(std::unique_ptr<Store>& store,
                               const std::string&, uint64_t index,
                               const std::string& entry) const override {
    return static_cast<MemoryStore&>(*store).RewriteLogEntryForTests(index,
                                                                     entry);
  }
};

absl::Status FromRocks(const rocksdb::Status& s) {
  return s.ok() ? absl::OkStatus() : absl::InternalError(s.ToString());
}

class RocksEngine final : public Engine {
 public:
  std::string name() const override { return "RocksDB"; }
  absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::string& dir) const override {
    return OpenRocksStore(dir);
  }
  bool persists() const override { return true; }
  absl::StatusOr<std::unique_ptr<Store>> Restore(
      const std::string& backup_dir, const std::string& dir) const override {
    if (auto s = RestoreRocksStore(backup_dir, dir); !s.ok()) return s;
    return OpenRocksStore(dir);
  }
  absl::Status FlipAssetByte(std::unique_ptr<Store>& store,
                             const std::string& dir,
                             const crypto::Sha256Digest& sha256,
                             uint64_t offset) const override {
    return Damage(store, dir, [&](RawDbForTests& raw) {
      std::string meta, chunk;
      auto s = raw.db()->Get({}, raw.cf("asset_meta"), keys::AssetMeta(sha256),
                             &meta);
      if (!s.ok()) return FromRocks(s);
      const std::string key =
          keys::Chunk(meta.substr(2, keys::kContentIdSize),
                      static_cast<uint32_t>(offset / kStoredChunkSize));
      s = raw.db()->Get({}, raw.cf("asset_chunks"), key, &chunk);
      if (!s.ok()) return FromRocks(s);
      chunk[offset % kStoredChunkSize] ^= 0x01;
      return FromRocks(raw.db()->Put({}, raw.cf("asset_chunks"), key, chunk));
    });
  }
  absl::Status RewriteLogEntry(std::unique_ptr<Store>& store,
                               const std::string& dir, uint64_t index,
                               const std::string& entry) const override {
    return Damage(store, dir, [&](RawDbForTests& raw) {
      std::string value;
      auto s = raw.db()->Get({}, raw.cf("log"), keys::LogEntry(index), &value);
      if (!s.ok()) return FromRocks(s);
      // Stored as leaf hash (32 bytes) || entry: keep the hash.
      return FromRocks(raw.db()->Put({}, raw.cf("log"), keys::LogEntry(index),
                                     value.substr(0, 32) + entry));
    });
  }

 private:
  // Closes the store, damages its files, opens it again.
  template <typename Change>
  absl::Status Damage(std::unique_ptr<Store>& store, const std::string& dir,
                      Change change) const {
    store.reset();
    absl::Status changed;
    {
      RawDbForTests raw(dir);
      if (!raw.status().ok()) return FromRocks(raw.status());
      changed = change(raw);
    }
    auto reopened = OpenRocksStore(dir);
    if (!reopened.ok()) return reopened.status();
    store = *std::move(reopened);
    return changed;
  }
};

const MemoryEngine kMemory;
const RocksEngine kRocks;

INSTANTIATE_TEST_SUITE_P(Engines, StoreConformanceTest,
                         ::testing::Values<const Engine*>(&kMemory, &kRocks),
                         EngineName);

}  // namespace
}  // namespace loupe::storage::conformance
