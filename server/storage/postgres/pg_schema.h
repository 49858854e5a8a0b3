#pragma once

// Internal to the PostgreSQL engine: the schema and its versioned
// migrations (docs/scale-out.md, "Schema"). Each migration runs in a
// transaction of its own and records its version in schema_migrations, so
// that front ends starting together apply each one once.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/storage/postgres/pg_common.h"

namespace loupe::storage::pg {

// The schema version this binary reads and writes.
[[nodiscard]] int LatestSchemaVersion();

// The database's schema version (0: no Loupe schema yet).
[[nodiscard]] absl::StatusOr<int> CurrentSchemaVersion(ConnectionPool& pool);

// Applies every migration newer than the database's, in order; returns the
// version reached. FAILED_PRECONDITION if the database's schema is newer
// than this binary's (a newer loupe-server migrated it: upgrade this one).
[[nodiscard]] absl::StatusOr<int> ApplyMigrations(ConnectionPool& pool);

// OK if the database's schema is this binary's; FAILED_PRECONDITION naming
// `loupe-server migrate-schema` if it is older (or absent), or saying it
// is newer.
[[nodiscard]] absl::Status CheckSchemaVersion(ConnectionPool& pool);

}  // namespace loupe::storage::pg
