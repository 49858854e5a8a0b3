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

// Answers with `read()` once a checkpoint holds the log as it is now (when
// `fresh`), without blocking: possibly later, on the publisher's thread.
// `read` must stay valid until then (it reads the request, which gRPC
// keeps until the call finishes).
template <typename Response, typename Read>
grpc::ServerUnaryReactor* AnswerFresh(grpc::CallbackServerContext* ctx,
                                      CheckpointPublisher* publisher,
                                      bool fresh, Response* response,
                                      Read read) {
  if (publisher == nullptr || !fresh) return Answer(ctx, response, read());
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  publisher->AfterCoveringNow([reactor, response, read] {
    auto result = read();
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpc(result.status()));
  });
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* LogService::GetCheckpoint(
    grpc::CallbackServerContext* ctx, const v1::GetCheckpointRequest*,
    v1::SignedCheckpoint* response) {
  return AnswerFresh(ctx, publisher_, true, response,
                     [log = log_] { return log->Checkpoint(); });
}

grpc::ServerUnaryReactor* LogService::GetInclusionProof(
    grpc::CallbackServerContext* ctx,
    const v1::GetInclusionProofRequest* request, v1::InclusionProof* response) {
  return AnswerFresh(
      ctx, publisher_, request->tree_size() == 0, response,
      [log = log_, request] { return log->InclusionProof(*request); });
}

grpc::ServerUnaryReactor* LogService::GetConsistencyProof(
    grpc::CallbackServerContext* ctx,
    const v1::GetConsistencyProofRequest* request,
    v1::ConsistencyProof* response) {
  return AnswerFresh(
      ctx, publisher_, request->new_size() == 0, response,
      [log = log_, request] { return log->ConsistencyProof(*request); });
}

grpc::ServerUnaryReactor* LogService::GetEntries(
    grpc::CallbackServerContext* ctx, const v1::GetEntriesRequest* request,
    v1::GetEntriesResponse* response) {
  return Answer(ctx, response, log_->Entries(*request));
}

}  // namespace loupe::server
