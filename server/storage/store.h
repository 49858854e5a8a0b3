#pragma once

#include <chrono>
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

struct AssetCommit {
  crypto::Sha256Digest sha256{};
  uint64_t size_bytes = 0;
  // The same bytes were already stored; this upload's copy was dropped.
  bool deduplicated = false;
};

// Receives one upload. Bytes are staged in a file of their own (not visible)
// until Commit() succeeds; a writer destroyed without a successful Commit()
// deletes its staging file, and staging left over by a crash is deleted on
// the next open. Memory use is bounded (about a MiB). Not thread-safe.
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

// What StoreAdmin::Scrub found: how much it read, and each problem, naming
// the record ("asset <sha256>: chunk 3 of 7 fails its stored digest", "log
// entry 17: ...", "piece pc_...: version 2 ...").
struct ScrubReport {
  uint64_t pieces = 0, versions = 0, certificates = 0;
  uint64_t assets = 0, asset_bytes = 0, log_entries = 0;
  uint64_t checkpoint_size = 0;  // Of the newest checkpoint, 0 if none.
  std::vector<std::string> problems;
  // Assets whose bytes an external asset engine keeps (RecordExternalAsset):
  // counted in `assets` but not read; that engine's scrub checks them.
  struct ExternalAsset {
    crypto::Sha256Digest sha256{};
    uint64_t size = 0;
  };
  std::vector<ExternalAsset> external_assets;
  // What the scrub repaired (e.g. orphaned objects it was told to remove).
  std::vector<std::string> notes;
  [[nodiscard]] bool clean() const { return problems.empty(); }
};

// A signed checkpoint as stored: the tree size and root it commits to, and
// the signed note (with any cosignatures).
struct CheckpointRecord {
  uint64_t size = 0;
  crypto::Hash root{};
  std::string note;  // Signed.
};

// Typed reads and writes inside one atomic write (Store::Commit). Reads see
// what is committed plus the writes made before them in the same commit
// group; writes become visible and durable together, or not at all. An
// engine only stores: every rule (numbering, parents, ownership,
// idempotence) is the registry's (server/registry/ledger.h). Used by one
// thread at a time, only inside the Work it was passed to.
class Transaction {
 public:
  virtual ~Transaction() = default;

  [[nodiscard]] virtual absl::StatusOr<std::optional<v1::Piece>> FindPiece(
      std::string_view piece_id) = 0;
  // The piece a studio registered under `reference`, if any.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>>
  FindPieceByReference(std::string_view studio_id,
                       std::string_view reference) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::optional<v1::TwinVersion>>
  FindVersion(std::string_view piece_id, uint32_t number) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::optional<v1::Certificate>>
  FindCertificate(std::string_view piece_id, uint32_t version) = 0;
  // The size of a committed asset, if stored.
  [[nodiscard]] virtual absl::StatusOr<std::optional<uint64_t>> FindAssetSize(
      const crypto::Sha256Digest& sha256) = 0;
  [[nodiscard]] virtual absl::StatusOr<bool> IsAssetUploadedBy(
      const crypto::Sha256Digest& sha256, std::string_view studio_id) = 0;
  // A recorded geometry check by its id (GeometryCheck.check_id), if any.
  [[nodiscard]] virtual absl::StatusOr<std::optional<v1::GeometryCheck>>
  FindCheck(std::string_view check_id) = 0;

  // A new piece: stored, listed under its studio and findable by its
  // studio_reference.
  virtual void InsertPiece(const v1::Piece& piece) = 0;
  // A changed piece (same id, studio and reference).
  virtual void UpdatePiece(const v1::Piece& piece) = 0;
  // A new version; its assets (valid sha256 hex) become the piece's assets
  // (IsAssetOfPiece).
  virtual void InsertVersion(const v1::TwinVersion& version) = 0;
  // A new certificate, found by id and by (piece, version).
  virtual void InsertCertificate(const v1::Certificate& certificate) = 0;
  virtual void InsertOwner(std::string_view piece_id,
                           const v1::OwnerRecord& owner) = 0;
  // A recorded geometry check, found by check.check_id(); never changed.
  virtual void InsertCheck(const v1::GeometryCheck& check) = 0;
  // Appends `entry` to the transparency log with this write; returns its
  // index. The tree grows (LogSize) only once the write is durable; a
  // refused Work's entries are rolled back with its other writes. DATA_LOSS
  // (LogHealth) if the stored log is damaged.
  [[nodiscard]] virtual absl::StatusOr<uint64_t> AppendLog(
      std::string_view entry) = 0;
};

// Reads of committed records. NOT_FOUND names the field ("piece_id: no
// piece ...", "number: ...", "certificate_id: ...").
class RecordReader {
 public:
  virtual ~RecordReader() = default;
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
  [[nodiscard]] virtual absl::StatusOr<v1::Certificate> GetCertificate(
      std::string_view id) = 0;
  // The certificate of one version, if issued.
  [[nodiscard]] virtual absl::StatusOr<std::optional<v1::Certificate>>
  GetCertificateOf(std::string_view piece_id, uint32_t version) = 0;
  // A piece's certificates in version order.
  [[nodiscard]] virtual absl::StatusOr<std::vector<v1::Certificate>>
  ListCertificates(std::string_view piece_id) = 0;
  // A piece's owners, oldest first.
  [[nodiscard]] virtual absl::StatusOr<std::vector<v1::OwnerRecord>> ListOwners(
      std::string_view piece_id) = 0;
  [[nodiscard]] virtual absl::StatusOr<bool> IsAssetUploadedBy(
      const crypto::Sha256Digest& sha256, std::string_view studio_id) = 0;
  [[nodiscard]] virtual absl::StatusOr<bool> IsAssetOfPiece(
      const crypto::Sha256Digest& sha256, std::string_view piece_id) = 0;
  // A recorded geometry check; NOT_FOUND naming check_id.
  [[nodiscard]] virtual absl::StatusOr<v1::GeometryCheck> GetCheck(
      std::string_view check_id) = 0;
};

// The transparency log's stored half: entries, the tree's node hashes and
// proofs over them, and the newest signed checkpoint. Every call is
// DATA_LOSS (LogHealth's status) if, when the store was opened, the stored
// entries no longer matched their own hashes or the newest checkpoint;
// INVALID_ARGUMENT naming the field for sizes or indexes beyond the tree.
class LogReader {
 public:
  virtual ~LogReader() = default;
  [[nodiscard]] virtual absl::Status LogHealth() = 0;
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

  // The checkpoint publisher's lease, for engines that several front ends
  // share: true if `holder` (a name unique to one process) holds the lease
  // to sign and store checkpoints and submit them to witnesses, taking it
  // if it is free or its holder let `ttl` pass without renewing, and
  // renewing it (for `ttl` more) if `holder` has it. A `ttl` of zero
  // gives it up if `holder` has it (and returns false). Time is the
  // engine's clock, not the caller's. A lease lost to a pause is benign:
  // every checkpoint signs a prefix of the same append-only tree, and
  // SaveCheckpoint keeps only a newer one. Engines used by one process
  // grant it always (this default). Errors are storage failures; callers
  // treat them as "not held".
  [[nodiscard]] virtual absl::StatusOr<bool> TryHoldPublisherLease(
      std::string_view holder, std::chrono::milliseconds ttl) {
    (void)holder;
    return ttl.count() > 0;
  }
};

// Asset bytes: content-addressed, streamed in and out, digest-checked.
class AssetStore {
 public:
  virtual ~AssetStore() = default;
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<AssetWriter>>
  BeginUpload() = 0;
  // The same, when the upload declared its digest and size up front (a
  // hint: Commit still checks both). An engine may then stream the bytes
  // to their final place as they arrive (the S3 engine does).
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<AssetWriter>>
  BeginUploadOf(const crypto::Sha256Digest& declared, uint64_t size) {
    (void)declared, (void)size;
    return BeginUpload();
  }
  // Uploads larger than this many bytes are streamed to their final place
  // when their digest is declared up front (BeginUploadOf); smaller ones,
  // or all when nullopt (the default), gain nothing from it, and a client
  // may as well hash while sending and put the digest last.
  [[nodiscard]] virtual std::optional<uint64_t> DigestFirstAbove() const {
    return std::nullopt;
  }
  // NOT_FOUND naming sha256 if absent; for an asset recorded with
  // RecordExternalAsset, the ExternalAssetError (IsExternalAsset).
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<AssetReader>> OpenAsset(
      const crypto::Sha256Digest& sha256) = 0;

  // For an asset engine that keeps the bytes elsewhere (S3, s3/
  // s3_asset_store.h) over this metadata engine: records durably and
  // atomically that the asset `sha256` of `size` bytes is stored, complete
  // and verified, outside this engine, and that `studio_id` uploaded it.
  // Returns true if the asset was already recorded (stored here or
  // outside; only the uploader is added). UNIMPLEMENTED by engines without
  // it.
  [[nodiscard]] virtual absl::StatusOr<bool> RecordExternalAsset(
      const crypto::Sha256Digest& sha256, uint64_t size,
      std::string_view studio_id) {
    (void)sha256, (void)size, (void)studio_id;
    return absl::UnimplementedError("this engine keeps no external assets");
  }
  // Turns an asset stored here into an external one of the same size (its
  // bytes now verified outside) and frees its bytes here: `loupe-server
  // migrate-assets`. NOT_FOUND if absent; OK if already external.
  [[nodiscard]] virtual absl::Status MarkAssetExternal(
      const crypto::Sha256Digest& sha256) {
    (void)sha256;
    return absl::UnimplementedError("this engine keeps no external assets");
  }
};

// What OpenAsset answers for an asset whose bytes are outside the engine.
inline constexpr char kExternalAssetMarker[] = "is stored outside";
[[nodiscard]] inline absl::Status ExternalAssetError(std::string_view hex) {
  return absl::FailedPreconditionError(
      std::string("sha256: asset ") + std::string(hex) + " " +
      kExternalAssetMarker + " this engine (in object storage)");
}
[[nodiscard]] inline bool IsExternalAsset(const absl::Status& s) {
  return absl::IsFailedPrecondition(s) &&
         s.message().find(kExternalAssetMarker) != std::string_view::npos;
}

// Operators' tools: scrub and backup (restore is RestoreStore, open_store.h).
class StoreAdmin {
 public:
  virtual ~StoreAdmin() = default;
  // Re-verifies everything stored, from one consistent snapshot, changing
  // nothing: every asset against its digests; every log entry against its
  // leaf hash, and the root of the stored leaves against the newest signed
  // checkpoint; every piece's version chain (1..current, parents, the piece
  // id, referenced assets present); every certificate and its index.
  // Problems go in the report; the status is not OK only when storage
  // cannot be read at all. Safe while the store serves. Slow: it reads
  // every byte.
  [[nodiscard]] virtual absl::StatusOr<ScrubReport> Scrub() = 0;
  // Writes a consistent copy of the store (everything acknowledged before
  // the call) into the existing empty-of-stores directory `directory`, in
  // the engine's own layout, which RestoreStore reads back. Safe while the
  // store serves.
  [[nodiscard]] virtual absl::Status Backup(const std::string& directory) = 0;

  struct Stats {
    uint64_t assets = 0;
    // Uploads begun and neither committed nor abandoned.
    uint64_t uploads_in_flight = 0;
  };
  // Counts of stored things, for tests and metrics.
  [[nodiscard]] virtual absl::StatusOr<Stats> CountStats() = 0;
};

// The registry's persistent state: one engine (RocksDB, memory, ...) behind
// narrow interfaces. Thread-safe. Every write reported OK is durable before
// it is reported. There is no way to overwrite or delete a version.
class Store : public RecordReader,
              public LogReader,
              public AssetStore,
              public StoreAdmin {
 public:
  // Reads and writes through the transaction; an error refuses the whole
  // Work (its writes and log entries are rolled back).
  using Work = std::function<absl::Status(Transaction& txn)>;
  using Done = std::function<void(absl::Status)>;
  // Backwards-compatible name used by the log layer.
  using CheckpointRecord = storage::CheckpointRecord;

  // Runs `work` atomically (engines serialise works, so each
  // read-check-write needs no lock) and makes its writes durable; `done`
  // runs once, with work's error or the commit's, on a storage thread when
  // the write is durable or refused (possibly before Commit returns). Both
  // must not block: work runs on the engine's commit thread, where
  // concurrent works share one durable write. An engine may run `work`
  // more than once (a distributed engine re-runs a commit group that lost a
  // serialization conflict), so it must have no effect but its writes.
  virtual void Commit(Work work, Done done) = 0;

  // Blocking form (tests and tools; never on an RPC thread).
  [[nodiscard]] absl::Status CommitAndWait(Work work) {
    std::promise<absl::Status> result;
    Commit(std::move(work), [&](absl::Status s) { result.set_value(s); });
    return result.get_future().get();
  }
};

// The whole of a (small) stored asset, verified chunk by chunk; for mesh
// files the server measures. NOT_FOUND, DATA_LOSS as OpenAsset/NextChunk.
[[nodiscard]] inline absl::StatusOr<std::string> ReadAssetBytes(
    AssetStore& store, const crypto::Sha256Digest& sha256) {
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

}  // namespace loupe::storage
