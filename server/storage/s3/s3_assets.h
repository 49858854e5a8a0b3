#pragma once

// Internal to the S3 asset engine (s3_asset_store.h): asset bytes in a
// bucket, content-addressed.
//
// Bucket layout:
//   assets/<sha256 hex>  the asset's bytes, exactly;
//   sums/<sha256 hex>    the SHA-256 of each 1 MiB chunk of it, 32 bytes
//                        each, so that reads verify every chunk before it
//                        reaches a caller (the whole digest at the end).
//
// An upload is spooled into an unlinked local file (memory: one part);
// Commit reads it back, hashing, into assets/<sha256>: up to
// single_put_max as one streamed PUT declaring the digest (the server
// stores nothing unless the bytes hash to it), larger as a multipart upload
// (every part's SHA-256 sent, and checked by the server) completed only when
// the whole digest matches the declared one, sums/ written before it
// completes. Anything that fails aborts the multipart upload: no object
// appears.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/sha256.h"
#include "server/storage/s3/s3_client.h"
#include "server/storage/store.h"

namespace loupe::storage::s3 {

inline constexpr size_t kSumChunk = 1 << 20;

struct S3AssetOptions {
  std::string spool_dir;
  // Multipart part size (a multiple of kSumChunk, at least 5 MiB).
  size_t part_size = 8 << 20;
  // Objects up to this size go to the bucket as one streamed PUT whose
  // SHA-256 the server checks (no parts to assemble); larger ones as
  // multipart uploads. S3 takes at most 5 GiB in one PUT.
  uint64_t single_put_max = uint64_t{1} << 30;
  // Bytes a download reads ahead of its caller (one streamed GET, cut
  // into kSumChunk chunks, this many bytes of them queued at most).
  size_t read_ahead = 4 << 20;
  // Scrub deletes orphaned objects (no asset record, older than
  // orphan_grace_seconds) and stale multipart uploads instead of only
  // reporting them.
  bool remove_orphans = false;
  int64_t orphan_grace_seconds = 3600;
};

[[nodiscard]] std::string ObjectKey(const crypto::Sha256Digest& sha256);
[[nodiscard]] std::string SumsKey(const crypto::Sha256Digest& sha256);

// Records a committed upload: `record(sha, size, studio)` returns whether
// the asset was already recorded (Store::RecordExternalAsset).
using RecordFn = std::function<absl::StatusOr<bool>(
    const crypto::Sha256Digest&, uint64_t, std::string_view)>;

// A writer whose Commit stores the bytes in the bucket, then calls
// `record`. INTERNAL naming the spool directory if it cannot hold a file.
[[nodiscard]] absl::StatusOr<std::unique_ptr<AssetWriter>> NewS3AssetWriter(
    S3Client* client, const S3AssetOptions& options, RecordFn record);

// A writer for an upload that declared its digest and size up front
// (larger than one part): the bytes go into a multipart upload at
// assets/<declared> as they arrive, completed at Commit only if they hash
// to `declared`; aborted otherwise and when the writer is dropped.
[[nodiscard]] absl::StatusOr<std::unique_ptr<AssetWriter>> NewS3StreamingWriter(
    S3Client* client, const S3AssetOptions& options, RecordFn record,
    const crypto::Sha256Digest& declared, uint64_t size);

// A reader of an asset recorded as external: DATA_LOSS naming the asset if
// its object or sums are missing or do not match (or its size is not
// `expected_size`, when given).
[[nodiscard]] absl::StatusOr<std::unique_ptr<AssetReader>> OpenS3Asset(
    S3Client* client, const S3AssetOptions& options,
    const crypto::Sha256Digest& sha256,
    std::optional<uint64_t> expected_size = std::nullopt);

// Scrub's bucket half: every asset in report->external_assets has its
// object, of its size, whose every chunk and whole digest check out; then
// objects under assets/ and sums/ that no record names (orphans) and
// multipart uploads older than the grace period, reported (or removed).
[[nodiscard]] absl::Status ScrubBucket(S3Client* client,
                                       const S3AssetOptions& options,
                                       ScrubReport* report);

struct BucketManifest {
  uint64_t objects = 0;
  uint64_t bytes = 0;
};

// A backup's bucket half: DIRECTORY/bucket-manifest.tsv lists every object
// (with its chunk digests' object) that a version in `records` cites and
// the bucket keeps, after checking that each is there at its recorded size
// (HEAD; scrub and restore check the bytes). The objects themselves stay
// in the bucket, which versioning protects. DATA_LOSS naming the asset and
// the version if one is missing or of another size; UNAVAILABLE if the
// bucket cannot be reached.
[[nodiscard]] absl::StatusOr<BucketManifest> WriteBucketManifest(
    S3Client* client, Store& records, const std::string& directory);

}  // namespace loupe::storage::s3
