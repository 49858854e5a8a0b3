#pragma once

// Internal to the RocksDB store: one commit group's writes, in a
// WriteBatchWithIndex (reads see the database plus the batch), written with
// one synced Write.

#include <rocksdb/utilities/write_batch_with_index.h>

#include <memory>

#include "server/storage/group_commit.h"
#include "server/storage/rocks/rocks_db.h"

namespace loupe::storage {

// Used by the committer thread only. `log` may be null (AppendLog is then
// INTERNAL).
[[nodiscard]] std::unique_ptr<GroupBatch> NewRocksBatch(RocksDb* db,
                                                        PendingLog* log);

}  // namespace loupe::storage
