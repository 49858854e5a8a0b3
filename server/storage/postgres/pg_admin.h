#pragma once

// Internal to the PostgreSQL engine: scrub, and the logical backup
// (postgres-backup.bin: every table's rows from one snapshot) and its
// restore. pg_dump/pg_restore are the operator's tools for a whole
// database; this backup is the engine's own, so that `loupe admin backup`
// and RestoreStore work on every engine.

#include <string>

#include "absl/status/statusor.h"
#include "server/storage/postgres/pg_common.h"
#include "server/storage/store.h"

namespace loupe::storage::pg {

// StoreAdmin::Scrub from one REPEATABLE READ snapshot.
[[nodiscard]] absl::StatusOr<ScrubReport> ScrubPostgres(ConnectionPool& pool);

// Writes every table (committed assets' chunks only) from one snapshot.
[[nodiscard]] absl::Status BackupPostgres(ConnectionPool& pool,
                                          const std::string& directory);

// Loads a backup into the (migrated, empty) database in one transaction.
[[nodiscard]] absl::Status RestorePostgres(ConnectionPool& pool,
                                           const std::string& backup_dir);

}  // namespace loupe::storage::pg
