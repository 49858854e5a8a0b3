#include "server/storage/postgres/pg_schema.h"

#include "base/str_cat.h"

namespace loupe::storage::pg {
namespace {

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

// Portable SQL only (PostgreSQL, CockroachDB, YugabyteDB): BYTEA keys (byte
// order, no collation), no sequences or SERIAL, no triggers, no advisory
// locks, no large objects; rows stay under about 1 MiB (asset chunks).
constexpr Migration kMigrations[] = {
    {1, "records, indexes, assets in chunks, the log with its tiles", R"sql(
CREATE TABLE pieces (
  piece_id BYTEA PRIMARY KEY,
  studio_id BYTEA NOT NULL,
  studio_reference BYTEA NOT NULL,
  record BYTEA NOT NULL,
  CONSTRAINT pieces_studio_reference_unique UNIQUE (studio_id, studio_reference)
);
CREATE INDEX pieces_by_studio ON pieces (studio_id, piece_id);
CREATE TABLE versions (
  piece_id BYTEA NOT NULL,
  version_number BIGINT NOT NULL,
  record BYTEA NOT NULL,
  PRIMARY KEY (piece_id, version_number)
);
CREATE TABLE piece_assets (
  piece_id BYTEA NOT NULL,
  sha256 BYTEA NOT NULL,
  PRIMARY KEY (piece_id, sha256)
);
CREATE TABLE certificates (
  piece_id BYTEA NOT NULL,
  version_number BIGINT NOT NULL,
  certificate_id BYTEA NOT NULL,
  record BYTEA NOT NULL,
  PRIMARY KEY (piece_id, version_number),
  CONSTRAINT certificates_id_unique UNIQUE (certificate_id)
);
CREATE TABLE owners (
  piece_id BYTEA NOT NULL,
  owner_sequence BIGINT NOT NULL,
  record BYTEA NOT NULL,
  PRIMARY KEY (piece_id, owner_sequence)
);
CREATE TABLE assets (
  sha256 BYTEA PRIMARY KEY,
  content_id BYTEA NOT NULL,
  size_bytes BIGINT NOT NULL,
  chunk_count BIGINT NOT NULL
);
CREATE TABLE asset_chunks (
  content_id BYTEA NOT NULL,
  chunk_index BIGINT NOT NULL,
  digest BYTEA NOT NULL,
  bytes BYTEA NOT NULL,
  PRIMARY KEY (content_id, chunk_index)
);
CREATE TABLE asset_uploads (
  content_id BYTEA PRIMARY KEY,
  started_unix_seconds BIGINT NOT NULL
);
CREATE TABLE asset_uploaders (
  sha256 BYTEA NOT NULL,
  studio_id BYTEA NOT NULL,
  PRIMARY KEY (sha256, studio_id)
);
CREATE TABLE log_coordinator (
  id INT PRIMARY KEY CHECK (id = 0),
  next_index BIGINT NOT NULL
);
INSERT INTO log_coordinator (id, next_index) VALUES (0, 0);
CREATE TABLE log_entries (
  entry_index BIGINT PRIMARY KEY,
  entry BYTEA NOT NULL
);
CREATE TABLE log_tiles (
  tile_level INT NOT NULL,
  tile_index BIGINT NOT NULL,
  hashes BYTEA NOT NULL,
  PRIMARY KEY (tile_level, tile_index)
);
CREATE TABLE log_checkpoint (
  id INT PRIMARY KEY CHECK (id = 0),
  tree_size BIGINT NOT NULL,
  root BYTEA NOT NULL,
  note BYTEA NOT NULL
)
)sql"},
    {2, "the checkpoint publisher's lease", R"sql(
CREATE TABLE publisher_lease (
  id INT PRIMARY KEY CHECK (id = 0),
  holder TEXT NOT NULL,
  expires_unix_ms BIGINT NOT NULL
);
INSERT INTO publisher_lease (id, holder, expires_unix_ms) VALUES (0, '', 0)
)sql"},
    {3, "recorded geometry checks", R"sql(
CREATE TABLE checks (
  check_id BYTEA PRIMARY KEY,
  piece_id BYTEA NOT NULL,
  record BYTEA NOT NULL
)
)sql"},
};

constexpr char kCreateMigrations[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INT PRIMARY KEY,
  description TEXT NOT NULL,
  applied_unix_seconds BIGINT NOT NULL
))sql";

absl::StatusOr<int> ReadVersion(pqxx::transaction_base& txn) {
  const auto exists = txn.exec(
      "SELECT 1 FROM information_schema.tables "
      "WHERE table_name = 'schema_migrations' "
      "AND table_schema = current_schema()");
  if (exists.empty()) return 0;
  const auto r =
      txn.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  return r[0][0].as<int>();
}

absl::Status TooNew(int version) {
  return absl::FailedPreconditionError(StrCat(
      "storage: the database's schema is version ", version,
      " but this loupe-server knows versions up to ", LatestSchemaVersion(),
      ": a newer loupe-server migrated it; upgrade this one"));
}

}  // namespace

int LatestSchemaVersion() {
  return kMigrations[std::size(kMigrations) - 1].version;
}

absl::StatusOr<int> CurrentSchemaVersion(ConnectionPool& pool) {
  int version = 0;
  absl::Status s = RunRead(pool, "reading the schema version",
                           [&](pqxx::nontransaction& txn) -> absl::Status {
                             auto v = ReadVersion(txn);
                             if (!v.ok()) return v.status();
                             version = *v;
                             return absl::OkStatus();
                           });
  if (!s.ok()) return s;
  return version;
}

absl::StatusOr<int> ApplyMigrations(ConnectionPool& pool) {
  // Concurrent CREATE TABLE IF NOT EXISTS may collide on PostgreSQL's
  // catalog (a unique violation): the retry sees the table.
  absl::Status created;
  for (int attempt = 0; attempt < 3; ++attempt) {
    created = RunRead(pool, "creating schema_migrations",
                      [](pqxx::nontransaction& txn) {
                        txn.exec(kCreateMigrations);
                        return absl::OkStatus();
                      });
    if (created.ok()) break;
  }
  if (!created.ok()) return created;
  int reached = 0;
  for (const Migration& m : kMigrations) {
    absl::Status s = RunSerializable(
        pool, StrCat("applying schema migration ", m.version),
        [&](SerializableTxn& txn) -> absl::Status {
          auto version = ReadVersion(txn);
          if (!version.ok()) return version.status();
          if (*version > LatestSchemaVersion()) return TooNew(*version);
          reached = *version;
          if (*version >= m.version) return absl::OkStatus();
          txn.exec(m.sql);
          txn.exec_params(
              "INSERT INTO schema_migrations (version, description, "
              "applied_unix_seconds) VALUES ($1, $2, "
              "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT))",
              m.version, m.description);
          reached = m.version;
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
  }
  return reached;
}

absl::Status CheckSchemaVersion(ConnectionPool& pool) {
  auto version = CurrentSchemaVersion(pool);
  if (!version.ok()) return version.status();
  if (*version > LatestSchemaVersion()) return TooNew(*version);
  if (*version < LatestSchemaVersion()) {
    return absl::FailedPreconditionError(
        StrCat("storage: the database's schema is version ", *version,
               ", this loupe-server needs ", LatestSchemaVersion(),
               ": run `loupe-server migrate-schema --config FILE` (or set "
               "apply_migrations: true)"));
  }
  return absl::OkStatus();
}

}  // namespace loupe::storage::pg
