#pragma once

// Internal to the RocksDB store: the open database, its column families and
// helpers shared by rocks_store.cc and rocks_assets.cc.

#include <rocksdb/db.h>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "server/storage/store.h"

namespace loupe::storage {

// Owns the database and its column-family handles. Thread-safe (RocksDB is).
struct RocksDb {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* pieces = nullptr;
  rocksdb::ColumnFamilyHandle* versions = nullptr;
  rocksdb::ColumnFamilyHandle* asset_meta = nullptr;
  rocksdb::ColumnFamilyHandle* chunks = nullptr;
  rocksdb::ColumnFamilyHandle* index = nullptr;
  rocksdb::ColumnFamilyHandle* certificates = nullptr;
  rocksdb::ColumnFamilyHandle* log = nullptr;
  // For acknowledged writes: the WAL is synced before Write() returns;
  // concurrent writers are grouped by RocksDB and share one sync.
  rocksdb::WriteOptions durable;
  // Options of the chunks column family, for upload SST files.
  rocksdb::Options chunk_options;
  // Uploads in flight write their SST files here; emptied on open.
  std::string staging_dir;

  ~RocksDb();
};

// Serialises read-check-write sequences on the same key (a piece, a studio
// reference, an asset digest) without a global lock.
class StripedMutex {
 public:
  std::mutex& For(std::string_view key) {
    return stripes_[std::hash<std::string_view>{}(key) % stripes_.size()];
  }

 private:
  std::array<std::mutex, 64> stripes_;
};

template <typename Message>
absl::StatusOr<Message> ParseStored(const std::string& bytes,
                                    std::string_view what) {
  Message m;
  if (!m.ParseFromString(bytes)) {
    return absl::DataLossError(StrCat("stored ", what, " is corrupt"));
  }
  return m;
}

// Converts a RocksDB failure into an absl::Status naming what was being done.
[[nodiscard]] absl::Status FromRocks(const rocksdb::Status& s,
                                     std::string_view what);

// Listings (rocks_lists.cc): pieces in id order after `start_after`, of
// one studio (read through `store`) or of all.
[[nodiscard]] absl::StatusOr<PiecePage> ListAllPieces(
    RocksDb& db, std::string_view start_after, size_t limit);
[[nodiscard]] absl::StatusOr<PiecePage> ListStudioPieces(
    Store& store, RocksDb& db, std::string_view studio_id,
    std::string_view start_after, size_t limit);

// Asset functions (rocks_assets.cc).
[[nodiscard]] absl::StatusOr<std::unique_ptr<AssetWriter>> BeginRocksUpload(
    std::shared_ptr<RocksDb> db, StripedMutex* locks);
[[nodiscard]] absl::StatusOr<std::unique_ptr<AssetReader>> OpenRocksAsset(
    std::shared_ptr<RocksDb> db, const crypto::Sha256Digest& sha256);
// The stored size of an asset; NOT_FOUND if absent.
[[nodiscard]] absl::StatusOr<uint64_t> StoredAssetSize(
    RocksDb& db, const crypto::Sha256Digest& sha256);
// Scrub (rocks_scrub.cc, and the asset part in rocks_assets.cc): reads
// through `read` (a snapshot, no block cache).
[[nodiscard]] absl::Status ScrubAssets(RocksDb& db,
                                       const rocksdb::ReadOptions& read,
                                       ScrubReport* report);
[[nodiscard]] absl::StatusOr<ScrubReport> ScrubRocks(RocksDb& db);
// Deletes staging files left by uploads that never committed (a crash).
[[nodiscard]] absl::Status SweepAbandonedUploads(RocksDb& db);

}  // namespace loupe::storage
