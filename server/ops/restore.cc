#include "server/ops/restore.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/str_cat.h"
#include "server/storage/open_store.h"

namespace loupe::server {
namespace {

namespace fs = std::filesystem;

absl::Status Verify(storage::Store& store, uint64_t expected_checkpoint,
                    std::ostream& out) {
  std::vector<std::string> extra;
  if (auto health = store.LogHealth(); !health.ok()) {
    extra.push_back(std::string(health.message()));
  }
  auto checkpoint = store.LatestCheckpoint();
  const uint64_t have =
      checkpoint.ok() && checkpoint->has_value() ? (*checkpoint)->size : 0;
  if (have < expected_checkpoint) {
    extra.push_back(StrCat("log: the backup recorded a checkpoint of ",
                           expected_checkpoint, " entries; the store has ",
                           have));
  }
  auto report = store.Scrub();
  if (!report.ok()) return report.status();
  for (auto& e : extra) report->problems.push_back(std::move(e));
  PrintScrubReport(*report, out);
  if (!report->clean()) {
    return absl::DataLossError(
        StrCat(report->problems.size(),
               " problem(s); the first: ", report->problems.front()));
  }
  return absl::OkStatus();
}

// backup.json's checkpoint_size, 0 if absent.
uint64_t RecordedCheckpointSize(const fs::path& backup) {
  std::ifstream in(backup / "backup.json");
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const std::string key = "\"checkpoint_size\":";
  const size_t at = s.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(s.c_str() + at + key.size(), nullptr, 10);
}

}  // namespace

void PrintScrubReport(const storage::ScrubReport& r, std::ostream& out) {
  out << "scrubbed: " << r.pieces << " pieces, " << r.versions << " versions, "
      << r.certificates << " certificates, " << r.assets << " assets ("
      << r.asset_bytes << " bytes), " << r.log_entries
      << " log entries (signed checkpoint: " << r.checkpoint_size << ")\n";
  for (const auto& n : r.notes) out << n << "\n";
  if (r.clean()) {
    out << "clean: every digest, log entry, version chain and certificate "
           "checks out\n";
  } else {
    out << r.problems.size() << " problem(s):\n";
    for (const auto& p : r.problems) out << "  " << p << "\n";
  }
}

absl::Status ScrubDataDir(const std::string& data_dir, std::ostream& out) {
  v1::ServerConfig config;
  config.set_data_dir(data_dir);
  return ScrubConfiguredStore(config, out);
}

absl::Status ScrubConfiguredStore(const v1::ServerConfig& config,
                                  std::ostream& out) {
  auto store = storage::OpenExistingStore(config);
  if (!store.ok()) return store.status();
  return Verify(**store, 0, out);
}

absl::Status RestoreBackup(const std::string& backup_dir,
                           const std::string& data_dir, std::ostream& out) {
  v1::ServerConfig config;
  config.set_data_dir(data_dir);
  return RestoreBackup(backup_dir, config, out);
}

absl::Status RestoreBackup(const std::string& backup_dir,
                           v1::ServerConfig config, std::ostream& out) {
  if (config.assets().has_s3()) {
    // The bucket is the live registry's: check the objects the restored
    // versions cite, remove nothing, and count nothing uploaded since the
    // backup as an orphan.
    auto* s3 = config.mutable_assets()->mutable_s3();
    s3->set_scrub_removes_orphans(false);
    s3->set_orphan_grace_seconds(UINT32_MAX);
  }
  auto store = storage::RestoreStore(backup_dir, config);
  if (!store.ok()) return store.status();
  out << "restored " << backup_dir << " into "
      << (config.storage().has_postgres() ? "the configured database"
                                          : config.data_dir())
      << "\n";
  if (config.assets().has_s3()) {
    out << "verifying the objects its versions cite in bucket "
        << config.assets().s3().bucket() << "\n";
  }
  return Verify(**store, RecordedCheckpointSize(backup_dir), out);
}

}  // namespace loupe::server
