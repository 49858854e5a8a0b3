#pragma once

// Chooses the storage engine the configuration names. Only the assembly
// (server/app) and the operator tools (server/ops) call these; everything
// else sees storage::Store.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "loupe/v1/config.pb.h"
#include "server/storage/store.h"

namespace loupe::storage {

// Opens (creating if needed) the configured store. The default engine is
// embedded RocksDB in config.data_dir().
[[nodiscard]] absl::StatusOr<std::unique_ptr<Store>> OpenStore(
    const v1::ServerConfig& config);

// Opens the configured store only if it exists: NOT_FOUND naming data_dir
// otherwise (for tools that must not create an empty one).
[[nodiscard]] absl::StatusOr<std::unique_ptr<Store>> OpenExistingStore(
    const v1::ServerConfig& config);

// Puts what Store::Backup wrote into `backup_dir` where the configured
// store lives, and opens it: NOT_FOUND naming "backup" if `backup_dir`
// holds no backup of this engine, ALREADY_EXISTS naming "data_dir" if a
// store is already there.
[[nodiscard]] absl::StatusOr<std::unique_ptr<Store>> RestoreStore(
    const std::string& backup_dir, const v1::ServerConfig& config);

// Applies the schema migrations the configured database lacks (the
// PostgreSQL engine; `loupe-server migrate-schema`) and returns the schema
// version now in place. INVALID_ARGUMENT naming "storage" for an engine
// without a schema; FAILED_PRECONDITION if the database is newer than this
// binary.
[[nodiscard]] absl::StatusOr<int> MigrateStoreSchema(
    const v1::ServerConfig& config);

}  // namespace loupe::storage
