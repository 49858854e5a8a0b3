#pragma once

// Internal to the RocksDB store: the transparency log's persistent half
// (entries and the newest checkpoint in the "log" column family; the tree
// itself is rebuilt in memory at open, see log_tree.h).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/storage/log_tree.h"
#include "server/storage/rocks/rocks_db.h"
#include "server/storage/store.h"

namespace loupe::storage {

// Reads every entry, re-hashes it, rebuilds `tree`, and compares the root
// at the newest stored checkpoint's size with that checkpoint. Returns the
// log's health: OK, or DATA_LOSS saying what no longer matches (an entry
// whose bytes differ from their leaf hash, a missing entry, a recomputed
// root that differs from the published one). Storage failures are returned
// as the outer status.
[[nodiscard]] absl::StatusOr<absl::Status> LoadLog(RocksDb& db, LogTree* tree);

// Entries [start, min(start + count, tree.size())), each checked against
// the leaf hash in `tree` (DATA_LOSS naming the index if rewritten).
[[nodiscard]] absl::StatusOr<std::vector<std::string>> ReadLogEntries(
    RocksDb& db, const LogTree& tree, uint64_t start, size_t count);

// `read` may name a snapshot (Scrub reads the checkpoint of its snapshot).
[[nodiscard]] absl::StatusOr<std::optional<CheckpointRecord>> ReadCheckpoint(
    RocksDb& db, const rocksdb::ReadOptions& read = rocksdb::ReadOptions());
// Stores `record` (synced) unless the stored one is at least as large.
[[nodiscard]] absl::Status WriteCheckpoint(RocksDb& db,
                                           const CheckpointRecord& record);

}  // namespace loupe::storage
