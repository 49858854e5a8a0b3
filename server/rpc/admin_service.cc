#include "server/rpc/admin_service.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/file.h"
#include "base/str_cat.h"
#include "server/rpc/rpc_edge.h"

namespace loupe::server {
namespace {

namespace fs = std::filesystem;

}  // namespace

absl::Status CheckAdmin(const Principal& who) {
  if (who.role != v1::ROLE_ADMIN) {
    return absl::PermissionDeniedError(
        StrCat("principal ", who.id, ": only an admin may do this"));
  }
  return absl::OkStatus();
}

v1::ScrubReport ToProto(const storage::ScrubReport& r) {
  v1::ScrubReport out;
  out.set_pieces(r.pieces);
  out.set_versions(r.versions);
  out.set_certificates(r.certificates);
  out.set_assets(r.assets);
  out.set_asset_bytes(r.asset_bytes);
  out.set_log_entries(r.log_entries);
  out.set_checkpoint_size(r.checkpoint_size);
  for (const auto& p : r.problems) out.add_problems(p);
  return out;
}

absl::StatusOr<v1::BackupResponse> BackUp(storage::Store& store,
                                          const std::string& directory) {
  const fs::path dir(directory);
  std::error_code ec;
  if (!dir.is_absolute()) {
    return absl::InvalidArgumentError(
        StrCat("directory: \"", directory, "\" must be an absolute path"));
  }
  if (fs::exists(dir, ec)) {
    return absl::InvalidArgumentError(
        StrCat("directory: ", directory, " exists; a backup needs a new one"));
  }
  if (!fs::is_directory(dir.parent_path(), ec)) {
    return absl::InvalidArgumentError(StrCat(
        "directory: the parent ", dir.parent_path().string(), " is missing"));
  }
  const auto start = std::chrono::steady_clock::now();
  // The checkpoint first: the copy then holds at least what it covers.
  auto checkpoint = store.LatestCheckpoint();
  if (!checkpoint.ok()) return checkpoint.status();
  fs::create_directory(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        StrCat("directory: cannot create ", directory, ": ", ec.message()));
  }
  if (auto s = store.Backup(directory); !s.ok()) {
    fs::remove_all(dir, ec);
    return s;
  }
  auto size = store.LogSize();
  v1::BackupResponse out;
  out.set_directory(directory);
  out.set_log_entries(size.ok() ? *size : 0);
  if (checkpoint->has_value()) {
    out.set_checkpoint_size((*checkpoint)->size);
    out.set_checkpoint_note((*checkpoint)->note);
  }
  out.set_bytes(DirectoryBytes(dir));
  out.set_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count());
  std::ofstream(dir / "backup.json")
      << nlohmann::json{{"format", "loupe-backup-v1"},
                        {"log_entries_at_least", out.log_entries()},
                        {"checkpoint_size", out.checkpoint_size()},
                        {"checkpoint_note", out.checkpoint_note()}}
             .dump()
      << "\n";
  return out;
}

void AdminService::WaitIdle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return running_ == 0; });
}

template <typename Op>
grpc::ServerUnaryReactor* AdminService::Detached(
    grpc::CallbackServerContext* ctx, Op op) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto who = Authenticate(*policy_, ctx);
  absl::Status allowed = who.ok() ? CheckAdmin(*who) : who.status();
  if (!allowed.ok()) {
    reactor->Finish(ToGrpc(allowed));
    return reactor;
  }
  {
    std::lock_guard lock(mu_);
    ++running_;
  }
  std::thread([this, reactor, op = std::move(op)] {
    const absl::Status s = op();
    reactor->Finish(ToGrpc(s));
    std::lock_guard lock(mu_);
    if (--running_ == 0) idle_.notify_all();
  }).detach();
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::Scrub(grpc::CallbackServerContext* ctx,
                                              const v1::ScrubRequest*,
                                              v1::ScrubReport* response) {
  return Detached(ctx, [this, response]() -> absl::Status {
    auto report = store_->Scrub();
    if (!report.ok()) return report.status();
    *response = ToProto(*report);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::Backup(grpc::CallbackServerContext* ctx,
                                               const v1::BackupRequest* request,
                                               v1::BackupResponse* response) {
  return Detached(ctx, [this, request, response]() -> absl::Status {
    auto backup = BackUp(*store_, request->directory());
    if (!backup.ok()) return backup.status();
    *response = *std::move(backup);
    return absl::OkStatus();
  });
}

}  // namespace loupe::server
