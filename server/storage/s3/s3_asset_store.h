#pragma once

// The S3 asset engine: a Store whose asset bytes live in an S3-compatible
// bucket (s3_assets.h has the layout) while every record, including each
// asset's (size, uploaders), stays in the metadata engine it wraps
// (RocksDB or PostgreSQL: Store::RecordExternalAsset). An asset becomes
// visible only once its object is complete in the bucket and its digest
// verified; assets stored in the engine before (no migrate-assets yet) are
// still read from there. Scrub covers the bucket; Backup copies the
// records (the bucket is backed up by its own versioning:
// docs/operations.md). Thread-safe, as the engine it wraps.

#include <memory>

#include "absl/status/statusor.h"
#include "loupe/v1/config.pb.h"
#include "server/storage/s3/s3_assets.h"
#include "server/storage/s3/s3_client.h"
#include "server/storage/store.h"

namespace loupe::storage::s3 {

// Client and asset options from config.assets().s3(): keys from the
// config, their files, or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY;
// INVALID_ARGUMENT naming the missing field.
struct S3Setup {
  S3Options client;
  S3AssetOptions assets;
};
[[nodiscard]] absl::StatusOr<S3Setup> S3SetupFromConfig(
    const v1::ServerConfig& config);

// Creates the spool directory, and the bucket if it does not exist; then
// checks that the server refuses bytes that do not match a PUT's
// x-amz-content-sha256, and if it does not, sets options.single_put_max
// to 0 (one-PUT uploads rely on that check; multipart uploads are checked
// here before they complete).
[[nodiscard]] absl::Status PrepareBucket(S3Client& client,
                                         S3AssetOptions& options);

// Wraps `metadata`; creates the bucket if it does not exist (and the spool
// directory). UNAVAILABLE if the bucket cannot be reached.
[[nodiscard]] absl::StatusOr<std::unique_ptr<Store>> NewS3AssetStore(
    std::unique_ptr<Store> metadata, const S3Setup& setup);

}  // namespace loupe::storage::s3
