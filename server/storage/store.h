#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/merkle.h"
#include "crypto/sha256.h"
#include "loupe/v1/registry.pb.h"
#include "loupe/v1/twin.pb.h"

namespace loupe::storage {

// Asset content is stored in chunks of this size (the last one shorter).
inline constexpr size_t kStoredChunkSize = 1 << 20;

struct AssetCommit {
  crypto::Sha256Digest sha256{};
  uint64_t size_bytes = 0;
  // The same bytes were already stored; this upload's copy was dropped.
  bool deduplicated = false;
};

// Receives one upload. Bytes are staged in a file of their own (not visible)
// until Commit() succeeds; a writer destroyed without a successful Commit()
// deletes its staging file, and staging left over by a crash is deleted on
// the next open. Memory use is bounded by kStoredChunkSize. Not thread-safe.
class AssetWriter {
 public:
  virtual ~AssetWriter() = default;
  // Adds bytes. Errors are storage failures (INTERNAL/UNAVAILABLE).
  [[nodiscard]] virtual absl::Status Append(std::string_view bytes) = 0;
  [[nodiscard]] virtual uint64_t bytes_received() const = 0;
  // Checks that exactly `size` bytes with digest `sha256` arrived
  // (INVALID_ARGUMENT naming size_bytes or sha256 otherwise, and nothing is
  // stored), then makes the asset visible and records `studio_id` as one of
  // its uploaders, durably (synced) and atomically.
  [[nodiscard]] virtual absl::StatusOr<AssetCommit> Commit(
      uint64_t size, const crypto::Sha256Digest& sha256,
      std::string_view studio_id) = 0;
};

// Reads one stored asset chunk by chunk, verifying each chunk against the
// digest recorded when it was written, and the whole digest at the end.
// Not thread-safe.
class AssetReader {
 public:
  virtual ~AssetReader() = default;
  [[nodiscard]] virtual uint64_t size_bytes() const = 0;
  // The next chunk, or nullopt after the last one (once the whole digest was
  // re-verified). DATA_LOSS if stored bytes do not match their digests.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>>
  NextChunk() = 0;
};

struct PiecePage {
  std::vector<v1::Piece> pieces;
  // Set when more may follow: pass as `start_after` for the next page.
  std::optional<std::string> last_key;
};

struct VersionPage {
  std::vector<v1::TwinVersion> versions;
  std::optional<uint32_t> last_number;
};

// The registry's persistent state. Implementations are thread-safe. Every
// mutation reported OK is durable (synced to disk) before it is reported.
// Versions are immutable: there is no way to overwrite or delete one.
//
// CreatePiece and AppendVersion complete asynchronously: `done` runs once on
// a storage thread when the write is durable or refused, and must not block
// (it typically finishes an RPC). Concurrent writes share one fsync.
//
// Errors: NOT_FOUND (no such piece/version/asset), ALREADY_EXISTS,
// ABORTED (a version's parent is no longer current; re-read and retry),
// FAILED_PRECONDITION (an asset the studio has not uploaded), DATA_LOSS
// (stored bytes failed verification), INTERNAL (storage failure).
// What Store::Scrub found: how much it read, and each problem, naming the
// record ("asset <sha256>: chunk 3 of 7 fails its stored digest", "log
// entry 17: ...", "piece pc_...: version 2 ...").
struct ScrubReport {
  uint64_t pieces = 0, versions = 0, certificates = 0;
  uint64_t assets = 0, asset_bytes = 0, log_entries = 0;
  uint64_t checkpoint_size = 0;  // Of the newest checkpoint, 0 if none.
  std::vector<std::string> problems;
  [[nodiscard]] bool clean() const { return problems.empty(); }
};

class Store {
 public:
  virtual ~Store() = default;

  using StatusCallback = std::function<void(absl::Status)>;
  using VersionCallback = std::function<void(absl::StatusOr<v1::TwinVersion>)>;

  // Stores a new piece and, if given, its version 1 (numbered 1, and the
  // piece's current_version set to 1), atomically. ALREADY_EXISTS if the
  // studio already used piece.studio_reference() (the message then carries
  // the existing id) or the id is taken; the first version is checked like
  // AppendVersion's, its errors naming "first_version".
  virtual void CreatePiece(v1::Piece piece,
                           std::optional<v1::TwinVersion> first_version,
                           StatusCallback done) = 0;

  // Appends `version` (number = parent + 1) to its piece and makes it current,
  // atomically; `done` gets the stored version. ABORTED unless
  // version.parent_number() is the piece's current version;
  // FAILED_PRECONDITION if an asset is missing or was not uploaded by
  // `studio_id`.
  virtual void AppendVersion(v1::TwinVersion version, std::string studio_id,
                             VersionCallback done) = 0;

  // Blocking forms of the two writes (tests and tools).
  [[nodiscard]] absl::Status CreatePieceAndWait(
      v1::Piece piece, std::optional<v1::TwinVersion> first_version = {}) {
    std::promise<absl::Status> result;
    CreatePiece(std::move(piece), std::move(first_version),
                [&](absl::Status s) { result.set_value(s); });
    return result.get_future().get();
  }
  [[nodiscard]] absl::StatusOr<v1::TwinVersion> AppendVersionAndWait(
      v1::TwinVersion version, std::string studio_id) {
    std::promise<absl::StatusOr<v1::TwinVersion>> result;
    AppendVersion(std::move(version), std::move(studio_id),
                  [&](absl::StatusOr<v1::TwinVersion> v) {
                    result.set_value(std::move(v));
                  });
    return result.get_future().get();
  }

  [[nodiscard]] virtual absl::StatusOr<v1::Piece> GetPiece(
      std::string_view piece_id) = 0;
  // number 0 = current.
  [[nodiscard]] virtual absl::StatusOr<v1::TwinVersion> GetVersion(
      std::string_view piece_id, uint32_t number) = 0;
  // Versions with number > after, ascending, at most `limit`.
  [[nodiscard]] virtual absl::StatusOr<VersionPage> ListVersions(
      std::string_view piece_id, uint32_t after, size_t limit) = 0;
  // Pieces (of one studio if studio_id is non-empty) in id order, after
  // `start_after`, at most `limit`.
  [[nodiscard]] virtual absl::StatusOr<PiecePage> ListPieces(
      std::string_view studio_id, std::string_view start_after,
      size_t limit) = 0;

  using CertificateCallback =
      std::function<void(absl::StatusOr<v1::Certificate>)>;
  // Stores `certificate` durably unless its piece version already has one;
  // `done` gets whichever is stored (so issuing is idempotent). A new
  // certificate's `log_entry` is appended to the log in the same write and
  // its index set as certificate.log_index.
  virtual void PutCertificate(v1::Certificate certificate,
                              std::string log_entry,
                              CertificateCallback done) = 0;

  // What a change to a piece logs: entries appended in order, and the new
  // owner record if the owner changed (its log_index is set to the last
  // entry's index).
  struct PieceChange {
    std::vector<std::string> log_entries;
    std::optional<v1::OwnerRecord> owner;
  };
  // Changes the piece in place; an error refuses the change.
  using PieceMutation =
      std::function<absl::StatusOr<PieceChange>(v1::Piece& piece)>;
  using PieceCallback = std::function<void(absl::StatusOr<v1::Piece>)>;
  // Reads the piece, applies `mutate` and stores the result with its log
  // entries, atomically and durably; `done` gets the stored piece. NOT_FOUND
  // naming piece_id if absent. `mutate` runs on the commit thread: no
  // blocking.
  virtual void MutatePiece(std::string piece_id, PieceMutation mutate,
                           PieceCallback done) = 0;
  // A piece's owners, oldest first.
  [[nodiscard]] virtual absl::StatusOr<std::vector<v1::OwnerRecord>> ListOwners(
      std::string_view piece_id) = 0;

  // The transparency log. Every call is DATA_LOSS (LogHealth's status) if,
  // when the store was opened, the stored entries no longer matched their
  // own hashes or the newest checkpoint; INVALID_ARGUMENT naming the field
  // for sizes or indexes beyond the tree.
  struct CheckpointRecord {
    uint64_t size = 0;
    crypto::Hash root{};
    std::string note;  // Signed.
  };
  [[nodiscard]] virtual absl::Status LogHealth() = 0;

  // Re-verifies everything stored, from one consistent snapshot, changing
  // nothing: every asset chunk against its digest and every asset against
  // its SHA-256; every log entry against its leaf hash, and the root of the
  // stored leaves against the newest signed checkpoint; every piece's
  // version chain (1..current, parents, the piece id, referenced assets
  // present); every certificate and its index. Problems go in the report;
  // the status is not OK only when storage cannot be read at all. Safe to
  // run while the store serves (it reads a snapshot). Slow: it reads every
  // byte.
  [[nodiscard]] virtual absl::StatusOr<ScrubReport> Scrub() = 0;

  // Writes a consistent, openable copy of the store (everything
  // acknowledged before the call) to `data_dir`/rocksdb, which must not
  // exist: hard links where the file system allows, copies otherwise. Safe
  // while the store serves.
  [[nodiscard]] virtual absl::Status CopyTo(const std::string& data_dir) = 0;
  [[nodiscard]] virtual absl::StatusOr<uint64_t> LogSize() = 0;
  [[nodiscard]] virtual absl::StatusOr<crypto::Hash> LogRoot(uint64_t size) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<crypto::Hash>>
  LogInclusionProof(uint64_t index, uint64_t size) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<crypto::Hash>>
  LogConsistencyProof(uint64_t old_size, uint64_t new_size) = 0;
  // LogTree::NodeHashes: complete subtree roots, for tiles.
  [[nodiscard]] virtual absl::StatusOr<std::vector<crypto::Hash>> LogNodeHashes(
      int level, uint64_t first, uint64_t count) = 0;
  // Entries [start, start + count) that exist, each re-checked against its
  // hash in the tree (DATA_LOSS naming the index if rewritten).
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> LogEntries(
      uint64_t start, size_t count) = 0;
  // The newest checkpoint published, if any.
  [[nodiscard]] virtual absl::StatusOr<std::optional<CheckpointRecord>>
  LatestCheckpoint() = 0;
  // Records a published checkpoint durably (kept only if newer, or of the
  // same tree: a note with more cosignatures). Callers sign the tree's root
  // at `size` first.
  [[nodiscard]] virtual absl::Status SaveCheckpoint(
      const CheckpointRecord& record) = 0;
  // NOT_FOUND naming certificate_id if absent.
  [[nodiscard]] virtual absl::StatusOr<v1::Certificate> GetCertificate(
      std::string_view id) = 0;
  // The certificate of one version, if issued.
  [[nodiscard]] virtual absl::StatusOr<std::optional<v1::Certificate>>
  GetCertificateOf(std::string_view piece_id, uint32_t version) = 0;
  // A piece's certificates in version order.
  [[nodiscard]] virtual absl::StatusOr<std::vector<v1::Certificate>>
  ListCertificates(std::string_view piece_id) = 0;

  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<AssetWriter>>
  BeginUpload() = 0;
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<AssetReader>> OpenAsset(
      const crypto::Sha256Digest& sha256) = 0;
  [[nodiscard]] virtual absl::StatusOr<bool> IsAssetUploadedBy(
      const crypto::Sha256Digest& sha256, std::string_view studio_id) = 0;
  [[nodiscard]] virtual absl::StatusOr<bool> IsAssetOfPiece(
      const crypto::Sha256Digest& sha256, std::string_view piece_id) = 0;

  // Counts of stored things, for tests and metrics.
  struct Stats {
    uint64_t assets = 0;
    uint64_t chunks = 0;
    // Staging files of uploads in progress.
    uint64_t uploads_in_flight = 0;
  };
  [[nodiscard]] virtual absl::StatusOr<Stats> CountStats() = 0;
};

// The whole of a (small) stored asset, verified chunk by chunk; for mesh
// files the server measures. NOT_FOUND, DATA_LOSS as OpenAsset/NextChunk.
[[nodiscard]] inline absl::StatusOr<std::string> ReadAssetBytes(
    Store& store, const crypto::Sha256Digest& sha256) {
  auto reader = store.OpenAsset(sha256);
  if (!reader.ok()) return reader.status();
  std::string bytes;
  bytes.reserve((*reader)->size_bytes());
  for (;;) {
    auto chunk = (*reader)->NextChunk();
    if (!chunk.ok()) return chunk.status();
    if (!chunk->has_value()) return bytes;
    bytes += **chunk;
  }
}

// Opens (creating if needed) the store in directory `dir`: RocksDB in
// `dir`/rocksdb, upload staging in `dir`/staging (emptied on open, which
// deletes whatever a crash left there).
[[nodiscard]] absl::StatusOr<std::unique_ptr<Store>> OpenRocksStore(
    const std::string& dir);

}  // namespace loupe::storage
