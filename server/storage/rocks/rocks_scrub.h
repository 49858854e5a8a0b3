#pragma once

// Internal to the RocksDB store: StoreAdmin::Scrub (see store.h).

#include "absl/status/statusor.h"
#include "server/storage/rocks/rocks_db.h"
#include "server/storage/store.h"

namespace loupe::storage {

[[nodiscard]] absl::StatusOr<ScrubReport> ScrubRocks(RocksDb& db);

}  // namespace loupe::storage
