#pragma once

#include "loupe/v1/log.grpc.pb.h"
#include "server/log/transparency_log.h"

namespace loupe::server {

// The gRPC edge of the TransparencyLog, on the callback API. The log is
// public: no token is asked for. Every call runs inline (reads only; a new
// checkpoint is one signature). Nothing is owned.
class LogService final : public v1::TransparencyLogService::CallbackService {
 public:
  explicit LogService(TransparencyLog* log) : log_(log) {}

  grpc::ServerUnaryReactor* GetCheckpoint(
      grpc::CallbackServerContext* ctx, const v1::GetCheckpointRequest* request,
      v1::SignedCheckpoint* response) override;
  grpc::ServerUnaryReactor* GetInclusionProof(
      grpc::CallbackServerContext* ctx,
      const v1::GetInclusionProofRequest* request,
      v1::InclusionProof* response) override;
  grpc::ServerUnaryReactor* GetConsistencyProof(
      grpc::CallbackServerContext* ctx,
      const v1::GetConsistencyProofRequest* request,
      v1::ConsistencyProof* response) override;
  grpc::ServerUnaryReactor* GetEntries(
      grpc::CallbackServerContext* ctx, const v1::GetEntriesRequest* request,
      v1::GetEntriesResponse* response) override;

 private:
  TransparencyLog* log_;
};

}  // namespace loupe::server
