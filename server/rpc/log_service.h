#pragma once

#include "loupe/v1/log.grpc.pb.h"
#include "server/log/checkpoint_publisher.h"
#include "server/log/transparency_log.h"

namespace loupe::server {

// The gRPC edge of the TransparencyLog, on the callback API. The log is
// public: no token is asked for. Reads only, never signing: a call served
// the newest checkpoint (GetCheckpoint, proofs at size 0) is answered once
// one holds every entry durable when it arrived (so a writer sees its own
// writes), from the publisher's thread if it has to wait; the others run
// inline. Nothing is owned; `publisher` may be null (then inline).
class LogService final : public v1::TransparencyLogService::CallbackService {
 public:
  LogService(TransparencyLog* log, CheckpointPublisher* publisher)
      : log_(log), publisher_(publisher) {}

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
  CheckpointPublisher* publisher_;
};

}  // namespace loupe::server
