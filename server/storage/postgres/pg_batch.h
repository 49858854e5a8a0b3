#pragma once

// Internal to the PostgreSQL engine: one commit group as one SERIALIZABLE
// transaction. Works read through the transaction (so that the database
// sees what each group read and detects conflicts with other front ends);
// their writes are kept in memory with save points and written at Write().
// Log entries are sequenced through the one-row coordinator: the first
// AppendLog of a group locks it (SELECT ... FOR UPDATE) and reads the next
// index; Write() inserts the entries, appends their hashes to the tiles and
// advances the coordinator, all in the group's transaction. On PostgreSQL
// the transaction first runs WriterExclusionSql() (pg_common.h), so that
// groups of several front ends take turns instead of failing with 40001.

#include <memory>

#include "server/storage/group_commit.h"
#include "server/storage/postgres/pg_common.h"
#include "server/storage/postgres/pg_log.h"

namespace loupe::storage::pg {

// `health` is the log's health fixed at open (appends refused with it when
// not OK); none is owned. `dialect` decides the writer exclusion.
// Committer thread only.
[[nodiscard]] std::unique_ptr<GroupBatch> NewPgBatch(ConnectionPool* pool,
                                                     TileTree* tree,
                                                     const absl::Status* health,
                                                     Dialect dialect);

}  // namespace loupe::storage::pg
