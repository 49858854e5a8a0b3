#pragma once

// Internal to the PostgreSQL engine: asset bytes in chunk rows of 1 MiB
// (asset_chunks, keyed by a random content id and the chunk's number, each
// with its SHA-256), made visible by one row in `assets` (sha256 ->
// content id, size, chunk count) written at commit. An upload writes its
// chunks as they fill (memory stays about 1 MiB) under a content id that
// no asset names yet, registered in asset_uploads; an abandoned upload
// deletes its chunks, and uploads a crash left behind are deleted by the
// next front end to open the store once they are a day old (another front
// end may still be writing a younger one).

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "server/storage/postgres/pg_common.h"
#include "server/storage/store.h"

namespace loupe::storage::pg {

inline constexpr size_t kChunkSize = 1 << 20;

// `in_flight` counts this front end's writers (StoreAdmin::Stats).
[[nodiscard]] std::unique_ptr<AssetWriter> NewPgAssetWriter(
    ConnectionPool* pool, std::atomic<uint64_t>* in_flight);
// NOT_FOUND naming sha256 if no such asset is committed.
[[nodiscard]] absl::StatusOr<std::unique_ptr<AssetReader>> OpenPgAsset(
    ConnectionPool* pool, const crypto::Sha256Digest& sha256);
// The content id that marks an asset whose bytes are outside
// (Store::RecordExternalAsset): no chunks, never a random id (16 bytes).
inline constexpr char kExternalContentId[] = "external";
// Store::RecordExternalAsset and MarkAssetExternal (store.h).
[[nodiscard]] absl::StatusOr<bool> RecordPgExternalAsset(
    ConnectionPool* pool, const crypto::Sha256Digest& sha256, uint64_t size,
    std::string_view studio_id);
[[nodiscard]] absl::Status MarkPgAssetExternal(
    ConnectionPool* pool, const crypto::Sha256Digest& sha256);
// Deletes the chunks of uploads begun more than `age_seconds` ago and
// never finished.
[[nodiscard]] absl::Status DeleteAbandonedUploads(ConnectionPool& pool,
                                                  int64_t age_seconds);

}  // namespace loupe::storage::pg
