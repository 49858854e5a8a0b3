#include "server/rpc/log_service.h"

#include "server/rpc/rpc_edge.h"

namespace loupe::server {
namespace {

template <typename Response, typename Result>
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx,
                                 Response* response, Result result) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (result.ok()) *response = *std::move(result);
  reactor->Finish(ToGrpc(result.status()));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* LogService::GetCheckpoint(
    grpc::CallbackServerContext* ctx, const v1::GetCheckpointRequest*,
    v1::SignedCheckpoint* response) {
  return Answer(ctx, response, log_->Checkpoint());
}

grpc::ServerUnaryReactor* LogService::GetInclusionProof(
    grpc::CallbackServerContext* ctx,
    const v1::GetInclusionProofRequest* request, v1::InclusionProof* response) {
  return Answer(ctx, response, log_->InclusionProof(*request));
}

grpc::ServerUnaryReactor* LogService::GetConsistencyProof(
    grpc::CallbackServerContext* ctx,
    const v1::GetConsistencyProofRequest* request,
    v1::ConsistencyProof* response) {
  return Answer(ctx, response, log_->ConsistencyProof(*request));
}

grpc::ServerUnaryReactor* LogService::GetEntries(
    grpc::CallbackServerContext* ctx, const v1::GetEntriesRequest* request,
    v1::GetEntriesResponse* response) {
  return Answer(ctx, response, log_->Entries(*request));
}

}  // namespace loupe::server
