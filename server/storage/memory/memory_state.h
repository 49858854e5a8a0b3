#pragma once

// Internal to the in-memory engine: what it stores.

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "crypto/merkle.h"
#include "crypto/sha256.h"
#include "server/storage/group_commit.h"
#include "server/storage/store.h"

namespace loupe::storage {

// Tables keyed like the RocksDB engine's column families (keys.h).
enum Table { kPieces, kVersions, kCertificates, kIndex, kTableCount };

struct MemoryState {
  struct Asset {
    std::string bytes;
    std::vector<crypto::Sha256Digest> chunk_digests;  // Per 1 MiB.
  };
  struct LogEntry {
    crypto::Hash leaf{};
    std::string entry;
  };
  // Guards everything below: commits and uploads take it exclusively,
  // reads shared.
  std::shared_mutex mu;
  std::array<std::map<std::string, std::string, std::less<>>, kTableCount>
      tables;
  std::map<std::string, Asset> assets;  // By raw SHA-256.
  std::vector<LogEntry> log;
  std::optional<CheckpointRecord> checkpoint;
};

// The batch of one commit group (memory_batch.cc). Committer thread only.
[[nodiscard]] std::unique_ptr<GroupBatch> NewMemoryBatch(MemoryState* state,
                                                         PendingLog* log);

// Admin (memory_admin.cc). Each takes the lock it needs.
// Store::Scrub over the state (see store.h for what is checked).
[[nodiscard]] ScrubReport ScrubMemory(MemoryState& state);
// The log's health as an engine sees it at open: every entry against its
// leaf hash, the root against the checkpoint (DATA_LOSS saying what).
[[nodiscard]] absl::Status CheckMemoryLog(MemoryState& state);
// Store::Backup: everything into `directory`/memory-store.bin.
[[nodiscard]] absl::Status WriteMemoryBackup(MemoryState& state,
                                             const std::string& directory);
[[nodiscard]] absl::StatusOr<std::shared_ptr<MemoryState>> ReadMemoryBackup(
    const std::string& directory);

}  // namespace loupe::storage
