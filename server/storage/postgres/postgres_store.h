#pragma once

// The PostgreSQL engine: the registry in a database that speaks the
// PostgreSQL protocol (tested on PostgreSQL 15; the schema is kept portable
// to CockroachDB and YugabyteDB, docs/scale-out.md), so that several
// stateless loupe-server front ends can share it. Only
// server/storage/open_store.cc, the operator tools and tests name it.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "loupe/v1/config.pb.h"
#include "server/storage/store.h"

namespace loupe::storage {

struct PostgresOptions {
  // libpq connection URL or key=value string.
  std::string url;
  // Apply schema migrations at open (else the schema must be current).
  bool apply_migrations = false;
  // Connections this front end opens at most (readers, uploads, the
  // committer).
  size_t max_connections = 16;
  // How many of the newest log entries are re-hashed at open (the rest are
  // verified by every read and by scrub): opening stays fast however long
  // the log is.
  uint64_t verify_log_entries_at_open = 65536;
};

// The options `storage { postgres { ... } }` names: the URL from `url`,
// else from the file `url_file` (a mounted secret; surrounding whitespace
// dropped). INVALID_ARGUMENT naming the field if neither gives one.
[[nodiscard]] absl::StatusOr<PostgresOptions> PostgresOptionsFromConfig(
    const v1::PostgresStorage& config);

// Opens the store in the database: UNAVAILABLE if it cannot be reached,
// FAILED_PRECONDITION if its schema is not this binary's (older and
// !apply_migrations: run migrate-schema; newer: upgrade the binary).
[[nodiscard]] absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(
    const PostgresOptions& options);

// Applies the schema migrations the database lacks; returns the schema
// version now in place. FAILED_PRECONDITION if the database is newer.
[[nodiscard]] absl::StatusOr<int> MigratePostgresSchema(const std::string& url);

// Loads what Store::Backup wrote into `backup_dir` into the database at
// `url` (migrated first): NOT_FOUND naming "backup" if there is no backup
// of this engine there, ALREADY_EXISTS if the database already holds a
// registry.
[[nodiscard]] absl::Status RestorePostgresStore(const std::string& backup_dir,
                                                const std::string& url);

}  // namespace loupe::storage
