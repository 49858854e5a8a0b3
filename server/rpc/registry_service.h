#pragma once

#include "loupe/v1/registry.grpc.pb.h"
#include "server/policy/access_policy.h"
#include "server/registry/registry.h"
#include "server/registry/worker_pool.h"

namespace loupe::server {

// The gRPC edge of the Registry, on the callback API. For every RPC it
// authenticates the caller (AccessPolicy::Authenticate, the one place tokens
// are checked) and converts absl::Status to grpc::Status once, here. Reads
// run inline; writes finish from the storage's group-commit thread once
// durable; an upload's final commit (which syncs its file) runs on the
// WorkerPool. Nothing is owned; all must outlive the service.
class RegistryService final : public v1::RegistryService::CallbackService {
 public:
  RegistryService(Registry* registry, const AccessPolicy* policy,
                  WorkerPool* pool)
      : registry_(registry), policy_(policy), pool_(pool) {}

  grpc::ServerUnaryReactor* CreatePiece(grpc::CallbackServerContext* ctx,
                                        const v1::CreatePieceRequest* request,
                                        v1::Piece* response) override;
  grpc::ServerUnaryReactor* AddVersion(grpc::CallbackServerContext* ctx,
                                       const v1::AddVersionRequest* request,
                                       v1::TwinVersion* response) override;
  grpc::ServerUnaryReactor* GetPiece(grpc::CallbackServerContext* ctx,
                                     const v1::GetPieceRequest* request,
                                     v1::Piece* response) override;
  grpc::ServerUnaryReactor* GetVersion(grpc::CallbackServerContext* ctx,
                                       const v1::GetVersionRequest* request,
                                       v1::TwinVersion* response) override;
  grpc::ServerUnaryReactor* ListVersions(
      grpc::CallbackServerContext* ctx, const v1::ListVersionsRequest* request,
      v1::ListVersionsResponse* response) override;
  grpc::ServerUnaryReactor* ListPieces(
      grpc::CallbackServerContext* ctx, const v1::ListPiecesRequest* request,
      v1::ListPiecesResponse* response) override;
  grpc::ServerUnaryReactor* IssueCertificate(
      grpc::CallbackServerContext* ctx,
      const v1::IssueCertificateRequest* request,
      v1::Certificate* response) override;
  grpc::ServerUnaryReactor* GetCertificate(
      grpc::CallbackServerContext* ctx,
      const v1::GetCertificateRequest* request,
      v1::Certificate* response) override;
  grpc::ServerUnaryReactor* ListCertificates(
      grpc::CallbackServerContext* ctx,
      const v1::ListCertificatesRequest* request,
      v1::ListCertificatesResponse* response) override;
  grpc::ServerReadReactor<v1::UploadAssetRequest>* UploadAsset(
      grpc::CallbackServerContext* ctx,
      v1::UploadAssetResponse* response) override;
  grpc::ServerReadReactor<v1::CheckGeometryRequest>* CheckGeometry(
      grpc::CallbackServerContext* ctx, v1::GeometryCheck* response) override;
  grpc::ServerReadReactor<v1::IdentifyPieceRequest>* IdentifyPiece(
      grpc::CallbackServerContext* ctx, v1::Identification* response) override;
  grpc::ServerWriteReactor<v1::DownloadAssetResponse>* DownloadAsset(
      grpc::CallbackServerContext* ctx,
      const v1::DownloadAssetRequest* request) override;

  grpc::ServerUnaryReactor* ChangeStatus(grpc::CallbackServerContext* ctx,
                                         const v1::ChangeStatusRequest* request,
                                         v1::Piece* response) override;
  grpc::ServerUnaryReactor* GetStatus(
      grpc::CallbackServerContext* ctx, const v1::GetStatusRequest* request,
      v1::PieceStatusStatement* response) override;
  grpc::ServerUnaryReactor* SetInsurers(grpc::CallbackServerContext* ctx,
                                        const v1::SetInsurersRequest* request,
                                        v1::Piece* response) override;
  grpc::ServerUnaryReactor* SetOwner(grpc::CallbackServerContext* ctx,
                                     const v1::SetOwnerRequest* request,
                                     v1::Piece* response) override;
  grpc::ServerUnaryReactor* TransferOwner(
      grpc::CallbackServerContext* ctx, const v1::TransferOwnerRequest* request,
      v1::Piece* response) override;
  grpc::ServerUnaryReactor* ListOwners(
      grpc::CallbackServerContext* ctx, const v1::ListOwnersRequest* request,
      v1::ListOwnersResponse* response) override;

 private:
  Registry* registry_;
  const AccessPolicy* policy_;
  WorkerPool* pool_;
};

}  // namespace loupe::server
