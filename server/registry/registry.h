#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "loupe/v1/config.pb.h"
#include "loupe/v1/registry.pb.h"
#include "server/log/checkpoint_publisher.h"
#include "server/log/transparency_log.h"
#include "server/policy/access_policy.h"
#include "server/policy/rate_limiter.h"
#include "server/registry/geometry_cache.h"
#include "server/registry/identification.h"
#include "server/registry/ledger.h"
#include "server/registry/signature_index.h"
#include "server/signing/signer.h"
#include "server/storage/store.h"

namespace loupe::server {

// Largest chunk a client may send in one UploadAsset message.
inline constexpr size_t kMaxUploadChunk = 1 << 20;

// One upload in progress: checks each chunk against the declared size and
// stores it staged; takes the digest from the header or the trailer;
// Finish() commits. Destroying an unfinished Upload discards everything it
// staged. Not thread-safe.
class Upload {
 public:
  // `geometry` (not owned; may be null) measures a mesh file (by its
  // file_name) once it is committed.
  Upload(std::unique_ptr<storage::AssetWriter> writer,
         v1::UploadAssetHeader header, std::string studio_id,
         GeometryCache* geometry = nullptr)
      : writer_(std::move(writer)),
        header_(std::move(header)),
        studio_id_(std::move(studio_id)),
        geometry_(geometry) {}

  // INVALID_ARGUMENT for an empty or oversized chunk, more bytes than
  // declared, or a chunk after the trailer.
  [[nodiscard]] absl::Status Append(std::string_view chunk);
  // INVALID_ARGUMENT if the header already declared the digest, a trailer
  // came already, or the digest is malformed.
  [[nodiscard]] absl::Status SetTrailer(const v1::UploadAssetTrailer& trailer);
  // Durable when OK. INVALID_ARGUMENT naming size_bytes or sha256 if what
  // arrived does not match the header; then nothing is stored.
  [[nodiscard]] absl::StatusOr<v1::UploadAssetResponse> Finish();

 private:
  std::unique_ptr<storage::AssetWriter> writer_;
  v1::UploadAssetHeader header_;
  std::string studio_id_;
  GeometryCache* geometry_;
  bool has_trailer_ = false;
};

// The registry's operations, in absl::Status terms: validation, access
// checks (through AccessPolicy) and storage. No gRPC here; the service
// converts at the edge. Thread-safe. Reads return directly; writes complete
// through `done`, called once (possibly before the call returns) on a
// storage thread when durable or refused, on a geometry pool thread when a
// mesh measurement refuses a version, or on the checkpoint publisher's
// thread (IssueCertificate); `done` must not block.
class Registry {
 public:
  // No pointer is owned; all must outlive the Registry. `signer` may be
  // null: then IssueCertificate is FAILED_PRECONDITION. `log` may be null:
  // then certificates carry no log proof. `geometry` may be null: then
  // meshes are measured on the calling thread, uncached beyond this
  // Registry (tests). `publisher` may be null: then a certificate's proof
  // is against a checkpoint signed on the completing thread (tests).
  Registry(storage::Store* store, const AccessPolicy* policy,
           v1::LimitsConfig limits, const CertificateSigner* signer = nullptr,
           TransparencyLog* log = nullptr, GeometryCache* geometry = nullptr,
           CheckpointPublisher* publisher = nullptr);

  using PieceCallback = std::function<void(absl::StatusOr<v1::Piece>)>;
  using VersionCallback = Ledger::VersionCallback;

  void CreatePiece(const Principal& who, const v1::CreatePieceRequest& request,
                   PieceCallback done);
  void AddVersion(const Principal& who, const v1::AddVersionRequest& request,
                  VersionCallback done);
  [[nodiscard]] absl::StatusOr<v1::Piece> GetPiece(
      const Principal& who, const v1::GetPieceRequest& request);
  [[nodiscard]] absl::StatusOr<v1::TwinVersion> GetVersion(
      const Principal& who, const v1::GetVersionRequest& request);
  [[nodiscard]] absl::StatusOr<v1::ListVersionsResponse> ListVersions(
      const Principal& who, const v1::ListVersionsRequest& request);
  [[nodiscard]] absl::StatusOr<v1::ListPiecesResponse> ListPieces(
      const Principal& who, const v1::ListPiecesRequest& request);
  // The piece's studio only; returns the version's existing certificate if
  // it has one. Certificates come with their log proof against the newest
  // checkpoint in the bundle.
  void IssueCertificate(const Principal& who,
                        const v1::IssueCertificateRequest& request,
                        Ledger::CertificateCallback done);
  [[nodiscard]] absl::StatusOr<v1::Certificate> GetCertificate(
      const Principal& who, const v1::GetCertificateRequest& request);
  // GetCertificate once a published checkpoint holds the log as it is now,
  // so that the proof is against a tree with every durable entry: inline,
  // or on the checkpoint publisher's thread.
  void GetCertificateWhenPublished(const Principal& who,
                                   const v1::GetCertificateRequest& request,
                                   Ledger::CertificateCallback done);
  [[nodiscard]] absl::StatusOr<v1::ListCertificatesResponse> ListCertificates(
      const Principal& who, const v1::ListCertificatesRequest& request);

  // Status and owners (registry_status.cc). `who` may be anonymous (empty
  // id) for the calls an owner's signature authorises and for the public
  // reads (GetStatus, ListOwners).
  void ChangeStatus(const Principal& who,
                    const v1::ChangeStatusRequest& request, PieceCallback done);
  [[nodiscard]] absl::StatusOr<v1::PieceStatusStatement> GetStatus(
      const Principal& who, const v1::GetStatusRequest& request);
  // The piece's studio replaces the insurers the piece names.
  void SetInsurers(const Principal& who, const v1::SetInsurersRequest& request,
                   PieceCallback done);
  void SetOwner(const Principal& who, const v1::SetOwnerRequest& request,
                PieceCallback done);
  void TransferOwner(const Principal& who,
                     const v1::TransferOwnerRequest& request,
                     PieceCallback done);
  [[nodiscard]] absl::StatusOr<v1::ListOwnersResponse> ListOwners(
      const Principal& who, const v1::ListOwnersRequest& request);

  // CheckGeometry (geometry_check.h): the header is checked before any
  // bytes are taken, then the whole file.
  [[nodiscard]] absl::Status BeginGeometryCheck(
      const Principal& who, const v1::CheckGeometryHeader& header);
  [[nodiscard]] absl::StatusOr<v1::GeometryCheck> FinishGeometryCheck(
      const Principal& who, const v1::CheckGeometryHeader& header,
      const std::string& file);
  // Records a finished, signed check (header.record): stored, logged, and
  // given its id; `done` runs on a storage thread when durable.
  void RecordGeometryCheck(v1::GeometryCheck check, Ledger::CheckCallback done);

  // IdentifyPiece (identification.h): the header is checked (and the
  // caller's identification rate spent) before any bytes are taken, then
  // the whole scan against the signature index.
  [[nodiscard]] absl::Status BeginIdentification(
      const Principal& who, const v1::IdentifyPieceHeader& header);
  [[nodiscard]] absl::StatusOr<v1::Identification> FinishIdentification(
      const Principal& who, const v1::IdentifyPieceHeader& header,
      const std::string& file);
  // Every registered ring's signature: loaded from the stored versions
  // when the Registry is built, then added to as versions are recorded.
  [[nodiscard]] const SignatureIndex& signature_index() const { return index_; }

  [[nodiscard]] const v1::LimitsConfig& limits() const { return limits_; }

  [[nodiscard]] absl::StatusOr<std::unique_ptr<Upload>> BeginUpload(
      const Principal& who, const v1::UploadAssetHeader& header);
  // Uploads above this size are best declared with their digest in the
  // header (the engine streams them to their final place); others, or all
  // when nullopt, with the digest in the trailer, hashed while sending.
  [[nodiscard]] std::optional<uint64_t> DigestFirstAbove() const {
    return store_->DigestFirstAbove();
  }
  [[nodiscard]] absl::StatusOr<std::unique_ptr<storage::AssetReader>>
  OpenDownload(const Principal& who, const v1::DownloadAssetRequest& request);

 private:
  // done(WithLogProof(certificate)) once a published checkpoint holds its
  // entry: on the publisher's thread, or inline.
  void AnswerWithLogProof(v1::Certificate certificate,
                          Ledger::CertificateCallback done);
  // Adds the log proof (and a fresh status statement) to the bundle.
  [[nodiscard]] absl::StatusOr<v1::Certificate> WithLogProof(
      v1::Certificate certificate, bool staple_status);
  [[nodiscard]] static absl::Status CheckOwnerReport(
      const crypto::DsseEnvelope& envelope, const v1::Piece& piece,
      std::string_view action, const v1::ChangeStatusRequest& request);
  [[nodiscard]] static absl::StatusOr<Ledger::PieceChange> ChangeOwner(
      v1::Piece& piece, const crypto::PublicKey& owner,
      const std::string& set_by, const std::string& authorization);

  storage::Store* store_;
  Ledger ledger_;  // The write rules, over store_.
  const AccessPolicy* policy_;
  v1::LimitsConfig limits_;
  const CertificateSigner* signer_;
  TransparencyLog* log_;
  std::unique_ptr<GeometryCache> own_geometry_;  // When none is given.
  GeometryCache* geometry_;
  CheckpointPublisher* publisher_;
  SignatureIndex index_;
  absl::Status index_status_;  // Of loading it from the store.
  RateLimiter identify_rate_;
};

}  // namespace loupe::server
