#pragma once

// `loupe-server migrate --from DATA_DIR --to postgres://...` (or
// --to-config FILE): copies a registry from one engine to another through
// the storage interfaces (server/storage/store.h), then proves the copy
// (docs/scale-out.md, "Moving a registry to PostgreSQL").
//
// Copied: every piece with its versions, certificates and owners; the
// assets the versions name, with their uploaders among the registry's
// studios; the log's entries in order (same indexes); the newest signed
// checkpoint. Not copied: assets no version names (uploads never used),
// which the summary counts.
//
// Proof: the destination's log root at the checkpoint's size equals the
// checkpoint's root, and its full log equals the source's size; pieces,
// versions, certificates and owners counted on both sides match; a scrub
// of the destination is clean.
//
// The source must not be served while it is copied (stop loupe-server);
// the destination must hold no registry yet.

#include <ostream>

#include "absl/status/status.h"
#include "loupe/v1/config.pb.h"

namespace loupe::server {

// `from` and `to` are finished configs naming the two stores. Progress and
// the summary go to `out`. FAILED_PRECONDITION if the destination already
// holds a registry or the source has none; DATA_LOSS if the proof fails
// (naming what differs); storage errors as they come.
[[nodiscard]] absl::Status MigrateRegistry(const v1::ServerConfig& from,
                                           const v1::ServerConfig& to,
                                           std::ostream& out);

}  // namespace loupe::server
