#include "server/registry/registry.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "base/str_cat.h"
#include "crypto/random.h"
#include "server/registry/geometry_summary.h"
#include "server/registry/validate.h"

namespace loupe::server {
namespace {

using google::protobuf::util::TimeUtil;

constexpr uint32_t kDefaultPageSize = 100;
constexpr uint32_t kMaxPageSize = 1000;

// Page tokens are opaque to clients: base64url of "<kind>:<position>".
std::string EncodePageToken(std::string_view kind, std::string_view position) {
  return absl::WebSafeBase64Escape(StrCat(kind, ":", position));
}

absl::StatusOr<std::string> DecodePageToken(std::string_view kind,
                                            std::string_view token) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(std::string(token), &raw) ||
      raw.substr(0, kind.size() + 1) != StrCat(kind, ":")) {
    return absl::InvalidArgumentError(
        "page_token: malformed; pass next_page_token unchanged");
  }
  return raw.substr(kind.size() + 1);
}

absl::StatusOr<size_t> PageSize(uint32_t requested) {
  if (requested > kMaxPageSize) {
    return absl::InvalidArgumentError(
        StrCat("page_size: at most ", kMaxPageSize));
  }
  return requested == 0 ? kDefaultPageSize : requested;
}

}  // namespace

Registry::Registry(storage::Store* store, const AccessPolicy* policy,
                   v1::LimitsConfig limits, const CertificateSigner* signer,
                   TransparencyLog* log, GeometryCache* geometry,
                   CheckpointPublisher* publisher)
    : store_(store),
      ledger_(store),
      policy_(policy),
      limits_(std::move(limits)),
      signer_(signer),
      log_(log),
      geometry_(geometry),
      publisher_(publisher),
      identify_rate_(std::max(1u, limits_.identifications_per_minute()) / 60.0,
                     std::max(1u, limits_.identifications_per_minute())) {
  if (geometry_ == nullptr) {
    own_geometry_ = std::make_unique<GeometryCache>(
        store_, /*pool=*/nullptr,
        GeometryCache::Options{.max_triangles = limits_.max_mesh_triangles()});
    geometry_ = own_geometry_.get();
  }
  // The signatures are stored with the versions' geometry: no mesh is
  // read again.
  index_status_ = index_.Rebuild(*store_);
}

absl::Status Upload::Append(std::string_view chunk) {
  if (has_trailer_) {
    return absl::InvalidArgumentError("chunk: after the trailer");
  }
  if (chunk.empty()) return absl::InvalidArgumentError("chunk: empty");
  if (chunk.size() > kMaxUploadChunk) {
    return absl::InvalidArgumentError(
        StrCat("chunk: ", chunk.size(), " bytes; chunks are at most 1 MiB"));
  }
  if (writer_->bytes_received() + chunk.size() > header_.size_bytes()) {
    return absl::InvalidArgumentError(
        StrCat("header.size_bytes: declared ", header_.size_bytes(),
               " bytes but more arrived; nothing stored"));
  }
  return writer_->Append(chunk);
}

absl::Status Upload::SetTrailer(const v1::UploadAssetTrailer& trailer) {
  if (!header_.sha256().empty() || has_trailer_) {
    return absl::InvalidArgumentError(
        "trailer: the digest was already declared; declare it once, in the "
        "header or in the trailer");
  }
  if (!crypto::IsSha256Hex(trailer.sha256())) {
    return absl::InvalidArgumentError(
        "trailer.sha256: must be 64 lower-case hexadecimal characters");
  }
  header_.set_sha256(trailer.sha256());
  has_trailer_ = true;
  return absl::OkStatus();
}

absl::StatusOr<v1::UploadAssetResponse> Upload::Finish() {
  if (header_.sha256().empty()) {
    return absl::InvalidArgumentError(
        "header.sha256: missing; declare the digest in the header or in the "
        "trailer; nothing stored");
  }
  auto sha = crypto::ParseSha256Hex(header_.sha256());
  if (!sha.ok()) return sha.status();  // Validated earlier; defensive.
  auto commit = writer_->Commit(header_.size_bytes(), *sha, studio_id_);
  if (!commit.ok()) return commit.status();
  // A mesh is measured now, on the geometry pool, so that versions citing
  // it find its summary ready.
  if (const std::string format = MeshFormatOf(header_.file_name());
      geometry_ != nullptr && !format.empty() &&
      commit->size_bytes <= kMaxMeasuredMeshBytes) {
    geometry_->Prefetch(*sha, format);
  }
  v1::UploadAssetResponse response;
  response.set_sha256(header_.sha256());
  response.set_size_bytes(commit->size_bytes);
  response.set_deduplicated(commit->deduplicated);
  return response;
}

void Registry::CreatePiece(const Principal& who,
                           const v1::CreatePieceRequest& request,
                           PieceCallback done) {
  if (auto s = ValidateCreatePiece(request); !s.ok()) return done(s);
  if (auto s = policy_->CheckCreatePiece(who, request.studio_id()); !s.ok()) {
    return done(s);
  }
  if (auto s = policy_->CheckInsurerNames("insurers", request.insurers());
      !s.ok()) {
    return done(s);
  }
  std::optional<v1::TwinVersion> first;
  if (request.has_first_version()) {
    first = request.first_version();
    if (first->reason() == v1::VERSION_REASON_UNSPECIFIED) {
      first->set_reason(v1::VERSION_REASON_ORIGINAL);
    }
    if (first->parent_number() != 0) {
      return done(absl::InvalidArgumentError(
          "first_version.parent_number: must be 0 for the first version"));
    }
    if (auto s = ValidateVersion(*first, "first_version"); !s.ok()) {
      return done(s);
    }
  }
  v1::Piece piece;
  piece.set_id(crypto::RandomId("pc_"));
  piece.set_studio_id(request.studio_id());
  piece.set_studio_reference(request.studio_reference());
  piece.set_kind(request.kind());
  piece.set_title(request.title());
  piece.set_gtin(request.gtin());
  piece.set_serial(request.serial());
  *piece.mutable_created_at() = TimeUtil::GetCurrentTime();
  *piece.mutable_asset_readers() = request.asset_readers();
  *piece.mutable_insurers() = request.insurers();
  piece.set_status(v1::PIECE_STATUS_ACTIVE);
  // Stores the piece with its measured first version, or answers an error.
  auto store = [this, piece, done = std::move(done)](
                   absl::StatusOr<std::optional<v1::TwinVersion>> first) {
    if (!first.ok()) return done(first.status());
    const bool with_version = first->has_value();
    std::optional<v1::TwinVersion> version = *first;
    ledger_.CreatePiece(
        piece, *std::move(first),
        [this, piece, with_version, version = std::move(version),
         done](absl::Status s) mutable {
          if (s.ok()) {
            if (version) {
              version->set_number(1);
              index_.Add(*version);
            }
            if (with_version) piece.set_current_version(1);
            done(piece);
          } else {
            done(s);
          }
        });
  };
  if (!first) return store(std::optional<v1::TwinVersion>());
  first->set_piece_id(piece.id());
  first->set_number(0);
  first->set_author(who.id);
  *first->mutable_created_at() = piece.created_at();
  // Continues when the meshes are measured (geometry_summary.h).
  AddGeometrySummaries(
      *geometry_, *store_, request.studio_id(), *std::move(first),
      "first_version",
      [store = std::move(store)](absl::StatusOr<v1::TwinVersion> measured) {
        if (!measured.ok()) return store(measured.status());
        store(std::optional(*std::move(measured)));
      });
}

void Registry::AddVersion(const Principal& who,
                          const v1::AddVersionRequest& request,
                          VersionCallback done) {
  if (auto s = ValidatePieceId("piece_id", request.piece_id()); !s.ok()) {
    return done(s);
  }
  if (!request.has_version()) {
    return done(absl::InvalidArgumentError("version: required"));
  }
  if (auto s = ValidateVersion(request.version()); !s.ok()) return done(s);
  auto piece = store_->GetPiece(request.piece_id());
  if (!piece.ok()) return done(piece.status());
  if (auto s = policy_->CheckWritePiece(who, *piece); !s.ok()) return done(s);
  v1::TwinVersion version = request.version();
  version.set_piece_id(request.piece_id());
  version.set_number(0);
  version.set_author(who.id);
  // Continues when the meshes are measured (geometry_summary.h).
  AddGeometrySummaries(
      *geometry_, *store_, piece->studio_id(), std::move(version), "version",
      [this, studio_id = piece->studio_id(),
       done](absl::StatusOr<v1::TwinVersion> version) {
        if (!version.ok()) return done(version.status());
        *version->mutable_created_at() = TimeUtil::GetCurrentTime();
        ledger_.AppendVersion(
            *std::move(version), studio_id,
            [this, done](absl::StatusOr<v1::TwinVersion> stored) {
              if (stored.ok()) index_.Add(*stored);
              done(std::move(stored));
            });
      });
}

absl::StatusOr<v1::Piece> Registry::GetPiece(
    const Principal& who, const v1::GetPieceRequest& request) {
  if (auto s = ValidatePieceId("piece_id", request.piece_id()); !s.ok()) {
    return s;
  }
  auto piece = store_->GetPiece(request.piece_id());
  if (piece.ok()) HideGrants(who, *piece);
  return piece;
}

void Registry::SetInsurers(const Principal& who,
                           const v1::SetInsurersRequest& request,
                           PieceCallback done) {
  if (auto s = ValidatePieceId("piece_id", request.piece_id()); !s.ok()) {
    return done(s);
  }
  if (auto s = policy_->CheckInsurerNames("insurers", request.insurers());
      !s.ok()) {
    return done(s);
  }
  ledger_.MutatePiece(
      request.piece_id(),
      [who, policy = policy_, insurers = request.insurers()](
          v1::Piece& piece) -> absl::StatusOr<Ledger::PieceChange> {
        if (auto s = policy->CheckWritePiece(who, piece); !s.ok()) return s;
        *piece.mutable_insurers() = insurers;
        return Ledger::PieceChange{};
      },
      std::move(done));
}

absl::StatusOr<v1::TwinVersion> Registry::GetVersion(
    const Principal& who, const v1::GetVersionRequest& request) {
  if (auto s = ValidatePieceId("piece_id", request.piece_id()); !s.ok()) {
    return s;
  }
  return store_->GetVersion(request.piece_id(), request.number());
}

absl::StatusOr<v1::ListVersionsResponse> Registry::ListVersions(
    const Principal& who, const v1::ListVersionsRequest& request) {
  if (auto s = ValidatePieceId("piece_id", request.piece_id()); !s.ok()) {
    return s;
  }
  auto size = PageSize(request.page_size());
  if (!size.ok()) return size.status();
  uint32_t after = 0;
  if (!request.page_token().empty()) {
    auto position = DecodePageToken("v", request.page_token());
    if (!position.ok()) return position.status();
    if (!absl::SimpleAtoi(*position, &after)) {
      return absl::InvalidArgumentError("page_token: malformed");
    }
  }
  auto page = store_->ListVersions(request.piece_id(), after, *size);
  if (!page.ok()) return page.status();
  v1::ListVersionsResponse response;
  for (auto& v : page->versions) *response.add_versions() = std::move(v);
  if (page->last_number) {
    response.set_next_page_token(
        EncodePageToken("v", StrCat(*page->last_number)));
  }
  return response;
}

absl::StatusOr<v1::ListPiecesResponse> Registry::ListPieces(
    const Principal& who, const v1::ListPiecesRequest& request) {
  if (!request.studio_id().empty()) {
    if (auto s = ValidateStudioId("studio_id", request.studio_id()); !s.ok()) {
      return s;
    }
  }
  auto size = PageSize(request.page_size());
  if (!size.ok()) return size.status();
  std::string after;
  if (!request.page_token().empty()) {
    auto position = DecodePageToken("p", request.page_token());
    if (!position.ok()) return position.status();
    if (!ValidatePieceId("page_token", *position).ok()) {
      return absl::InvalidArgumentError("page_token: malformed");
    }
    after = *position;
  }
  auto page = store_->ListPieces(request.studio_id(), after, *size);
  if (!page.ok()) return page.status();
  v1::ListPiecesResponse response;
  for (auto& p : page->pieces) *response.add_pieces() = std::move(p);
  if (page->last_key) {
    response.set_next_page_token(EncodePageToken("p", *page->last_key));
  }
  return response;
}

void Registry::IssueCertificate(const Principal& who,
                                const v1::IssueCertificateRequest& request,
                                Ledger::CertificateCallback done) {
  if (auto s = ValidatePieceId("piece_id", request.piece_id()); !s.ok()) {
    return done(s);
  }
  auto piece = store_->GetPiece(request.piece_id());
  if (!piece.ok()) return done(piece.status());
  if (auto s = policy_->CheckWritePiece(who, *piece); !s.ok()) return done(s);
  if (signer_ == nullptr) {
    return done(absl::FailedPreconditionError(
        "this registry has no signing key configured (signing.key_file)"));
  }
  auto version = store_->GetVersion(piece->id(), request.version());
  if (!version.ok()) return done(version.status());
  auto existing = store_->GetCertificateOf(piece->id(), version->number());
  if (!existing.ok()) return done(existing.status());
  if (existing->has_value()) {
    return AnswerWithLogProof(**std::move(existing), std::move(done));
  }
  std::string parent_id;
  if (version->parent_number() > 0) {
    auto parent =
        store_->GetCertificateOf(piece->id(), version->parent_number());
    if (!parent.ok()) return done(parent.status());
    if (parent->has_value()) parent_id = (*parent)->id();
  }
  auto issued = signer_->Issue(*piece, *version, parent_id, absl::Now());
  if (!issued.ok()) return done(issued.status());
  ledger_.PutCertificate(
      std::move(issued->certificate), std::move(issued->log_entry),
      [this, done = std::move(done)](absl::StatusOr<v1::Certificate> stored) {
        if (!stored.ok()) return done(stored.status());
        AnswerWithLogProof(*std::move(stored), done);
      });
}

void Registry::AnswerWithLogProof(v1::Certificate certificate,
                                  Ledger::CertificateCallback done) {
  const uint64_t entries = certificate.log_index() + 1;
  auto answer = [this, certificate = std::move(certificate),
                 done = std::move(done)] {
    done(WithLogProof(certificate, /*staple_status=*/false));
  };
  if (publisher_ == nullptr || log_ == nullptr) return answer();
  // Not here (a storage completion thread): the proof waits for the
  // publisher's checkpoint that holds the entry.
  publisher_->AfterCovering(entries, std::move(answer));
}

absl::StatusOr<v1::Certificate> Registry::GetCertificate(
    const Principal& who, const v1::GetCertificateRequest& request) {
  const std::string& id = request.certificate_id();
  if (id.size() != 35 || id.substr(0, 3) != "ct_" ||
      id.find_first_not_of("0123456789abcdef", 3) != std::string::npos) {
    return absl::InvalidArgumentError(
        "certificate_id: malformed; \"ct_\" and 32 hex characters");
  }
  auto certificate = store_->GetCertificate(id);
  if (!certificate.ok()) return certificate.status();
  return WithLogProof(*std::move(certificate), request.staple_status());
}

void Registry::GetCertificateWhenPublished(
    const Principal& who, const v1::GetCertificateRequest& request,
    Ledger::CertificateCallback done) {
  auto read = [this, who, request, done = std::move(done)] {
    done(GetCertificate(who, request));
  };
  if (publisher_ == nullptr) return read();
  publisher_->AfterCoveringNow(std::move(read));
}

absl::StatusOr<v1::ListCertificatesResponse> Registry::ListCertificates(
    const Principal& who, const v1::ListCertificatesRequest& request) {
  if (auto s = ValidatePieceId("piece_id", request.piece_id()); !s.ok()) {
    return s;
  }
  auto all = store_->ListCertificates(request.piece_id());
  if (!all.ok()) return all.status();
  v1::ListCertificatesResponse response;
  for (auto& c : *all) *response.add_certificates() = std::move(c);
  return response;
}

absl::StatusOr<std::unique_ptr<Upload>> Registry::BeginUpload(
    const Principal& who, const v1::UploadAssetHeader& header) {
  if (auto s = policy_->CheckUpload(who); !s.ok()) return s;
  if (auto s = ValidateUploadHeader(header, limits_.max_asset_bytes());
      !s.ok()) {
    return s;
  }
  const auto declared = crypto::ParseSha256Hex(header.sha256());
  auto writer = declared.ok()
                    ? store_->BeginUploadOf(*declared, header.size_bytes())
                    : store_->BeginUpload();
  if (!writer.ok()) return writer.status();
  return std::make_unique<Upload>(*std::move(writer), header, who.studio_id,
                                  geometry_);
}

absl::StatusOr<std::unique_ptr<storage::AssetReader>> Registry::OpenDownload(
    const Principal& who, const v1::DownloadAssetRequest& request) {
  auto sha = crypto::ParseSha256Hex(request.sha256());
  if (!sha.ok()) {
    return absl::InvalidArgumentError(
        StrCat("sha256: ", sha.status().message()));
  }
  if (request.piece_id().empty()) {
    // Without a piece, only a studio that uploaded these bytes may read them.
    auto uploaded = who.role == v1::ROLE_STUDIO
                        ? store_->IsAssetUploadedBy(*sha, who.studio_id)
                        : absl::StatusOr<bool>(false);
    if (!uploaded.ok()) return uploaded.status();
    if (!*uploaded) {
      return absl::PermissionDeniedError(
          "piece_id: required unless your studio uploaded this asset");
    }
    return store_->OpenAsset(*sha);
  }
  if (auto s = ValidatePieceId("piece_id", request.piece_id()); !s.ok()) {
    return s;
  }
  auto piece = store_->GetPiece(request.piece_id());
  if (!piece.ok()) return piece.status();
  if (auto s = policy_->CheckReadAssets(who, *piece); !s.ok()) return s;
  auto of_piece = store_->IsAssetOfPiece(*sha, piece->id());
  if (!of_piece.ok()) return of_piece.status();
  if (!*of_piece) {
    return absl::NotFoundError(StrCat("sha256: no asset ", request.sha256(),
                                      " in piece ", piece->id()));
  }
  return store_->OpenAsset(*sha);
}

}  // namespace loupe::server
