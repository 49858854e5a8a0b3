#pragma once

// The RocksDB engine: the registry embedded in one data directory. Only
// server/storage/open_store.cc and tests name it.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/storage/store.h"

namespace loupe::storage {

// Opens (creating if needed) the store in directory `dir`: RocksDB in
// `dir`/rocksdb, upload staging in `dir`/staging (emptied on open, which
// deletes whatever a crash left there).
[[nodiscard]] absl::StatusOr<std::unique_ptr<Store>> OpenRocksStore(
    const std::string& dir);

// Whether `dir` holds a RocksDB store.
[[nodiscard]] bool HasRocksStore(const std::string& dir);

// Copies a backup written by Store::Backup (of this engine) into `dir`,
// which must not hold a store yet: NOT_FOUND naming "backup" if
// `backup_dir` holds none, ALREADY_EXISTS naming "data_dir" if `dir`
// already holds a store.
[[nodiscard]] absl::Status RestoreRocksStore(const std::string& backup_dir,
                                             const std::string& dir);

}  // namespace loupe::storage
