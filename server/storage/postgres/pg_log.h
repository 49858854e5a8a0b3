#pragma once

// Internal to the PostgreSQL engine: the transparency log's tree as stored
// tiles (C2SP tlog-tiles layout: a tile at tile level L, index t holds up to
// 256 consecutive complete-subtree hashes of tree level 8L; a partial tile
// grows in place until full). Writers append to the tiles in the same
// transaction that sequences the entries (the coordinator row locked), so
// that the tiles always match log_coordinator.next_index. Readers compute
// roots and proofs from O(log n) tiles, cached, without reading entries: a
// front end's memory does not grow with the log, and it starts without
// rebuilding anything.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/merkle.h"
#include "server/storage/postgres/pg_common.h"
#include "server/storage/store.h"

namespace loupe::storage::pg {

inline constexpr uint64_t kTileWidth = 256;

// The tree of the committed log, read from tiles. Thread-safe.
class TileTree {
 public:
  explicit TileTree(ConnectionPool* pool) : pool_(pool) {}

  // The size this front end knows to be committed.
  [[nodiscard]] uint64_t size() const { return size_.load(); }
  // Reads the committed size (entries other front ends appended too).
  [[nodiscard]] absl::StatusOr<uint64_t> Refresh();
  // This front end committed entries up to `size`.
  void Grew(uint64_t size);

  // As LogTree's (log_tree.h), including the INVALID_ARGUMENT and
  // NOT_FOUND cases; DATA_LOSS if a tile is missing or short.
  [[nodiscard]] absl::StatusOr<crypto::Hash> Root(uint64_t size);
  [[nodiscard]] absl::StatusOr<std::vector<crypto::Hash>> InclusionProof(
      uint64_t index, uint64_t size);
  [[nodiscard]] absl::StatusOr<std::vector<crypto::Hash>> ConsistencyProof(
      uint64_t old_size, uint64_t new_size);
  [[nodiscard]] absl::StatusOr<std::vector<crypto::Hash>> NodeHashes(
      int level, uint64_t first, uint64_t count);

 private:
  struct Tile {
    // levels[r][j]: the root of 2^r of the tile's hashes starting at j*2^r.
    std::vector<std::vector<crypto::Hash>> levels;
    [[nodiscard]] uint64_t width() const { return levels[0].size(); }
  };

  // Makes sure `size` is committed (refreshing once); INVALID_ARGUMENT
  // naming `field` otherwise.
  [[nodiscard]] absl::Status Check(uint64_t size, std::string_view field);
  // These throw (libpqxx errors, DamagedTile); public methods catch.
  [[nodiscard]] crypto::Hash Node(int level, uint64_t index);
  [[nodiscard]] crypto::Hash Subtree(uint64_t begin, uint64_t end);
  [[nodiscard]] std::shared_ptr<const Tile> GetTile(int tile_level,
                                                    uint64_t tile_index,
                                                    uint64_t min_width);

  ConnectionPool* pool_;
  std::atomic<uint64_t> size_{0};
  std::mutex mu_;  // Guards cache_.
  std::map<std::pair<int, uint64_t>, std::shared_ptr<const Tile>> cache_;
};

// Appends `leaves` (the leaf hashes of entries base, base + 1, ...) to the
// stored tiles: reads the partial tiles they extend inside `txn` (which
// holds the coordinator row whose next_index is `base`, one round trip) and
// adds the new and extended tiles to `script`. Throws on storage errors;
// DATA_LOSS if the stored tiles do not end at `base`.
[[nodiscard]] absl::Status AppendTiles(pqxx::transaction_base& txn,
                                       uint64_t base,
                                       const std::vector<crypto::Hash>& leaves,
                                       SqlScript& script);

// Entries [start, min(start + count, tree.size())), each checked against
// its leaf hash in the tiles (DATA_LOSS naming the index if rewritten or
// missing).
[[nodiscard]] absl::StatusOr<std::vector<std::string>> ReadLogEntries(
    ConnectionPool& pool, TileTree& tree, uint64_t start, size_t count);

// The log's health when a front end opens the store: the newest
// `verify_entries` entries against their leaf hashes, and the root of the
// tiles against the newest checkpoint. Sets *health to OK or DATA_LOSS
// saying what no longer matches; returns storage failures. Other front
// ends may append and publish meanwhile: `between_reads` (tests only) runs
// between reading the checkpoint and reading the log.
[[nodiscard]] absl::Status CheckLogAtOpen(
    ConnectionPool& pool, TileTree& tree, uint64_t verify_entries,
    absl::Status* health, const std::function<void()>& between_reads = {});

[[nodiscard]] absl::StatusOr<std::optional<CheckpointRecord>> ReadCheckpoint(
    pqxx::transaction_base& txn);
// Stores `record` unless the stored one is newer (as the other engines).
[[nodiscard]] absl::Status SaveCheckpoint(ConnectionPool& pool,
                                          const CheckpointRecord& record);

// Store::TryHoldPublisherLease on the one-row publisher_lease table: in a
// SERIALIZABLE transaction, the row locked (FOR UPDATE, no advisory lock),
// the database's clock deciding expiry.
[[nodiscard]] absl::StatusOr<bool> HoldPublisherLease(
    ConnectionPool& pool, std::string_view holder,
    std::chrono::milliseconds ttl);

}  // namespace loupe::storage::pg
