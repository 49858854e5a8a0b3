#pragma once

// The in-memory engine: the whole Store contract (atomic group commits,
// the log, digest-checked assets, scrub, backup) with nothing on disk but
// backups. For unit tests of the layers above storage and for the
// conformance suite; `storage { memory {} }` runs a server on it (nothing
// survives a restart). Thread-safe.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/sha256.h"
#include "server/storage/store.h"

namespace loupe::storage {

class MemoryStore : public Store {
 public:
  // Tests only: damage what is "stored", as a disk or an attacker would,
  // so that a test can check the store notices. NOT_FOUND if absent.
  [[nodiscard]] virtual absl::Status FlipAssetByteForTests(
      const crypto::Sha256Digest& sha256, uint64_t offset) = 0;
  [[nodiscard]] virtual absl::Status RewriteLogEntryForTests(
      uint64_t index, std::string entry) = 0;
};

[[nodiscard]] std::unique_ptr<MemoryStore> NewMemoryStore();

// A store with what Store::Backup wrote into `backup_dir`; its log's
// health is checked as an engine's at open (DATA_LOSS from every log call
// if the entries no longer match themselves or the checkpoint). NOT_FOUND
// naming "backup" if the directory holds no memory-engine backup;
// DATA_LOSS if the backup file is damaged.
[[nodiscard]] absl::StatusOr<std::unique_ptr<MemoryStore>> RestoreMemoryStore(
    const std::string& backup_dir);

}  // namespace loupe::storage
