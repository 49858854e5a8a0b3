#pragma once

#include <condition_variable>
#include <mutex>

#include "loupe/v1/admin.grpc.pb.h"
#include "server/policy/access_policy.h"
#include "server/storage/store.h"

namespace loupe::server {

// The gRPC edge of the operator's calls (proto/loupe/v1/admin.proto):
// ROLE_ADMIN only. Scrub and Backup read every byte, so each runs on a
// thread of its own, not on gRPC's; the destructor waits for them, so the
// store must outlive this service. Nothing is owned.
class AdminService final : public v1::AdminService::CallbackService {
 public:
  AdminService(storage::Store* store, const AccessPolicy* policy)
      : store_(store), policy_(policy) {}
  ~AdminService() override { WaitIdle(); }
  // Returns once no scrub or backup is running.
  void WaitIdle();

  grpc::ServerUnaryReactor* Scrub(grpc::CallbackServerContext* ctx,
                                  const v1::ScrubRequest* request,
                                  v1::ScrubReport* response) override;
  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* ctx,
                                   const v1::BackupRequest* request,
                                   v1::BackupResponse* response) override;

 private:
  // Runs `op` on its own thread; finishes the call with its status.
  template <typename Op>
  grpc::ServerUnaryReactor* Detached(grpc::CallbackServerContext* ctx, Op op);

  storage::Store* store_;
  const AccessPolicy* policy_;
  std::mutex mu_;
  std::condition_variable idle_;
  int running_ = 0;
};

// A backup of `store` in `directory` (absolute, not existing): the copy
// and backup.json (log size, the newest checkpoint). Used by the RPC.
[[nodiscard]] absl::StatusOr<v1::BackupResponse> BackUp(
    storage::Store& store, const std::string& directory);

// ROLE_ADMIN, else PERMISSION_DENIED.
[[nodiscard]] absl::Status CheckAdmin(const Principal& who);

// The proto form of a scrub report.
[[nodiscard]] v1::ScrubReport ToProto(const storage::ScrubReport& report);

}  // namespace loupe::server
