#pragma once

// The gRPC edge shared by the services: authentication from the request
// metadata, absl::Status -> grpc::Status (once, here), and the two shapes
// of unary call (a read finished inline, a write finished when durable).

#include <grpcpp/grpcpp.h>

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/policy/access_policy.h"

namespace loupe::server {

// absl and gRPC share the canonical status codes, value for value.
inline grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                      std::string(s.message()));
}

// Whether a call without any token proceeds as an anonymous principal
// (empty id). A token that is present must still be valid.
enum class Auth { kRequired, kOptional };

// The bearer token if one is sent; else, over mutual TLS, the verified
// client certificate's common name; else anonymous (kOptional) or
// UNAUTHENTICATED.
inline absl::StatusOr<Principal> Identify(const AccessPolicy& policy,
                                          grpc::CallbackServerContext* ctx,
                                          Auth auth) {
  const auto& metadata = ctx->client_metadata();
  auto it = metadata.find("authorization");
  std::string_view value;
  if (it != metadata.end()) value = {it->second.data(), it->second.size()};
  if (value.empty()) {
    const auto context = ctx->auth_context();
    if (context != nullptr && context->IsPeerAuthenticated()) {
      const auto names = context->FindPropertyValues("x509_common_name");
      if (!names.empty()) {
        return policy.AuthenticateCertificate(
            std::string_view(names.front().data(), names.front().size()));
      }
    }
    if (auth == Auth::kOptional) return Principal{};
  }
  return policy.Authenticate(value);
}

// Identify, then spend one request of the caller's rate
// (RESOURCE_EXHAUSTED beyond it).
inline absl::StatusOr<Principal> Authenticate(const AccessPolicy& policy,
                                              grpc::CallbackServerContext* ctx,
                                              Auth auth = Auth::kRequired) {
  auto who = Identify(policy, ctx, auth);
  if (!who.ok()) return who;
  if (auto s = policy.Admit(*who, ctx->peer()); !s.ok()) return s;
  return who;
}

// Authenticates, then finishes the call with `op(principal)`, run inline:
// reads are short and never wait for fsync.
template <typename Response, typename Op>
grpc::ServerUnaryReactor* RunRead(grpc::CallbackServerContext* ctx,
                                  const AccessPolicy& policy,
                                  Response* response, Op op,
                                  Auth auth = Auth::kRequired) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto who = Authenticate(policy, ctx, auth);
  absl::Status status = who.status();
  if (who.ok()) {
    auto result = op(*who);
    status = result.status();
    if (result.ok()) *response = *std::move(result);
  }
  reactor->Finish(ToGrpc(status));
  return reactor;
}

// Authenticates, then starts `op(principal, done)`; the call finishes when
// the write is durable or refused (on the storage's commit thread).
template <typename Response, typename Op>
grpc::ServerUnaryReactor* RunWrite(grpc::CallbackServerContext* ctx,
                                   const AccessPolicy& policy,
                                   Response* response, Op op,
                                   Auth auth = Auth::kRequired) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto who = Authenticate(policy, ctx, auth);
  if (!who.ok()) {
    reactor->Finish(ToGrpc(who.status()));
    return reactor;
  }
  op(*who, [reactor, response](absl::StatusOr<Response> result) {
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpc(result.status()));
  });
  return reactor;
}

}  // namespace loupe::server
