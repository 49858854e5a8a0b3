#pragma once

// Offline operator commands of loupe-server (docs/operations.md):
//   scrub   --data-dir DIR         re-verify a stopped store, change nothing
//   restore BACKUP --data-dir DIR  restore a backup, then verify it
// Both print what they checked and every problem, and return OK only when
// the store is clean (DATA_LOSS listing the problems otherwise).

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "loupe/v1/config.pb.h"
#include "server/storage/store.h"

namespace loupe::server {

// Writes the report: counts, then one line per problem.
void PrintScrubReport(const storage::ScrubReport& report, std::ostream& out);

[[nodiscard]] absl::Status ScrubDataDir(const std::string& data_dir,
                                        std::ostream& out);
// The store `config` names (engine and, with assets { s3 {} }, the bucket:
// every recorded asset's object and digest, orphaned objects).
[[nodiscard]] absl::Status ScrubConfiguredStore(const v1::ServerConfig& config,
                                                std::ostream& out);

// Restores BACKUP (as the engine wrote it) into DATA_DIR (which must not hold a
// store yet), opens it (the log is re-hashed and its root compared with the
// stored signed checkpoint), checks that checkpoint is at least the one
// BACKUP/backup.json recorded, and scrubs it: every asset digest, entry,
// version chain and certificate.
[[nodiscard]] absl::Status RestoreBackup(const std::string& backup_dir,
                                         const std::string& data_dir,
                                         std::ostream& out);
// The same into the store `config` names (its engine and data_dir); with
// assets { s3 {} } the scrub reads every object a restored version cites
// from the bucket and checks its digests (the bucket is not restored: it is
// kept, versioned, where it is; BACKUP/bucket-manifest.tsv lists them).
// Nothing in the bucket is removed, and objects no restored version cites
// are not reported (the live registry may have uploaded them since).
[[nodiscard]] absl::Status RestoreBackup(const std::string& backup_dir,
                                         v1::ServerConfig config,
                                         std::ostream& out);

}  // namespace loupe::server
