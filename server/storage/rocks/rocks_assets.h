#pragma once

// Internal to the RocksDB store: content-addressed asset bytes (uploads
// staged in an SST file of their own and ingested on commit; verified
// chunked reads).

#include <memory>

#include "absl/status/statusor.h"
#include "crypto/sha256.h"
#include "server/storage/rocks/rocks_db.h"
#include "server/storage/store.h"

namespace loupe::storage {

// Asset content is stored in chunks of this size (the last one shorter).
inline constexpr size_t kStoredChunkSize = 1 << 20;

[[nodiscard]] absl::StatusOr<std::unique_ptr<AssetWriter>> BeginRocksUpload(
    std::shared_ptr<RocksDb> db, StripedMutex* locks);
[[nodiscard]] absl::StatusOr<std::unique_ptr<AssetReader>> OpenRocksAsset(
    std::shared_ptr<RocksDb> db, const crypto::Sha256Digest& sha256);
// The stored size of an asset; NOT_FOUND if absent.
[[nodiscard]] absl::StatusOr<uint64_t> StoredAssetSize(
    RocksDb& db, const crypto::Sha256Digest& sha256);
// Scrub's asset part: reads through `read` (a snapshot, no block cache).
[[nodiscard]] absl::Status ScrubAssets(RocksDb& db,
                                       const rocksdb::ReadOptions& read,
                                       ScrubReport* report);
// Store::RecordExternalAsset and MarkAssetExternal (store.h).
[[nodiscard]] absl::StatusOr<bool> RecordRocksExternalAsset(
    RocksDb& db, StripedMutex* locks, const crypto::Sha256Digest& sha256,
    uint64_t size, std::string_view studio_id);
[[nodiscard]] absl::Status MarkRocksAssetExternal(
    RocksDb& db, StripedMutex* locks, const crypto::Sha256Digest& sha256);
// Deletes staging files left by uploads that never committed (a crash).
[[nodiscard]] absl::Status SweepAbandonedUploads(RocksDb& db);

}  // namespace loupe::storage
