#pragma once

// `loupe-server migrate-assets --config FILE`: moves the asset bytes a
// registry keeps in its storage engine (RocksDB or PostgreSQL) into the
// bucket the config's assets { s3 {} } names (docs/scale-out.md, "Assets
// in object storage").
//
// For every asset a version names: its bytes are read from the engine
// (each chunk verified against its stored digest), uploaded to
// assets/<sha256> (the whole digest checked before the object completes),
// read back from the bucket and verified again, and only then is the
// engine's record switched to "external" and its local bytes freed
// (Store::MarkAssetExternal). Assets already in the bucket are skipped, so
// an interrupted run is simply run again. Uploads no version names stay in
// the engine (still served from there) and are counted.
//
// With RocksDB, stop loupe-server first (the database is single-process).

#include <ostream>

#include "absl/status/status.h"
#include "loupe/v1/config.pb.h"

namespace loupe::server {

// INVALID_ARGUMENT naming assets.s3 if the config has no bucket;
// DATA_LOSS naming the asset whose bytes fail a digest (nothing is changed
// for it); storage and bucket errors as they come.
[[nodiscard]] absl::Status MigrateAssets(const v1::ServerConfig& config,
                                         std::ostream& out);

}  // namespace loupe::server
