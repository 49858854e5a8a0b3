#include "server/rpc/registry_service.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/str_cat.h"
#include "server/rpc/rpc_edge.h"

namespace loupe::server {
namespace {

// Initial metadata of UploadAsset: a size in bytes, or "never".
constexpr char kDigestFirstAbove[] = "loupe-digest-first-above";

// A streamed call's time limit (limits.max_call_seconds), checked as each
// message arrives, so that a client trickling its bytes is cut off.
class CallClock {
 public:
  explicit CallClock(const v1::LimitsConfig& limits)
      : seconds_(limits.max_call_seconds()),
        deadline_(std::chrono::steady_clock::now() +
                  std::chrono::seconds(seconds_ > 0 ? seconds_ : 1u << 30)) {}
  [[nodiscard]] absl::Status Check(std::string_view what) const {
    if (std::chrono::steady_clock::now() <= deadline_) return absl::OkStatus();
    return absl::ResourceExhaustedError(
        StrCat("limits.max_call_seconds: the ", what, " took longer than ",
               seconds_, " s; nothing was kept"));
  }

 private:
  uint32_t seconds_;
  std::chrono::steady_clock::time_point deadline_;
};

// Receives an upload: header first, then chunks, staged as they arrive; the
// durable commit runs on the worker pool. Any error discards the staging.
// The initial metadata goes out at once and tells the client where to put
// the digest (kDigestFirstAbove, docs/api.md).
class UploadReactor final
    : public grpc::ServerReadReactor<v1::UploadAssetRequest> {
 public:
  UploadReactor(Registry* registry, WorkerPool* pool,
                grpc::CallbackServerContext* ctx, absl::StatusOr<Principal> who,
                v1::UploadAssetResponse* response)
      : registry_(registry),
        pool_(pool),
        response_(response),
        clock_(registry->limits()) {
    if (!who.ok()) {
      Finish(ToGrpc(who.status()));
      return;
    }
    who_ = *std::move(who);
    const auto above = registry->DigestFirstAbove();
    ctx->AddInitialMetadata(kDigestFirstAbove,
                            above ? std::to_string(*above) : "never");
    StartSendInitialMetadata();
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      EndOfStream();
      return;
    }
    absl::Status status = clock_.Check("upload");
    if (status.ok()) status = upload_ ? ReceiveChunk() : ReceiveHeader();
    if (!status.ok()) {
      upload_.reset();  // Discards what was staged.
      Finish(ToGrpc(status));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  absl::Status ReceiveHeader() {
    if (!request_.has_header()) {
      return absl::InvalidArgumentError(
          "header: the first message must be the header");
    }
    auto upload = registry_->BeginUpload(who_, request_.header());
    if (!upload.ok()) return upload.status();
    upload_ = *std::move(upload);
    return absl::OkStatus();
  }

  absl::Status ReceiveChunk() {
    if (request_.has_trailer()) return upload_->SetTrailer(request_.trailer());
    if (!request_.has_chunk()) {
      return absl::InvalidArgumentError(
          "chunk: expected a chunk or the trailer; the header comes only "
          "once");
    }
    return upload_->Append(request_.chunk());
  }

  void EndOfStream() {
    if (!upload_) {
      Finish(ToGrpc(absl::InvalidArgumentError(
          "header: the stream ended before the header")));
      return;
    }
    pool_->Submit([this] {
      auto result = upload_->Finish();
      upload_.reset();
      if (result.ok()) *response_ = *std::move(result);
      Finish(ToGrpc(result.status()));
    });
  }

  Registry* registry_;
  WorkerPool* pool_;
  v1::UploadAssetResponse* response_;
  CallClock clock_;
  Principal who_;
  v1::UploadAssetRequest request_;
  std::unique_ptr<Upload> upload_;
};

// Calls that take a whole file (CheckGeometry, IdentifyPiece): what each
// asks of the Registry.
struct CheckCall {
  using Request = v1::CheckGeometryRequest;
  using Header = v1::CheckGeometryHeader;
  using Response = v1::GeometryCheck;
  static constexpr char kWhat[] = "geometry check";
  static absl::Status Begin(Registry* r, const Principal& who,
                            const Header& h) {
    return r->BeginGeometryCheck(who, h);
  }
  static absl::StatusOr<Response> Finish(Registry* r, const Principal& who,
                                         const Header& h,
                                         const std::string& file) {
    return r->FinishGeometryCheck(who, h, file);
  }
  // With header.record the check is stored and logged first; `done` runs
  // once it is durable (on a storage thread).
  template <typename Done>
  static void Complete(Registry* r, const Header& h,
                       absl::StatusOr<Response> result, Done done) {
    if (result.ok() && h.record()) {
      r->RecordGeometryCheck(*std::move(result), std::move(done));
      return;
    }
    done(std::move(result));
  }
};

struct IdentifyCall {
  using Request = v1::IdentifyPieceRequest;
  using Header = v1::IdentifyPieceHeader;
  using Response = v1::Identification;
  static constexpr char kWhat[] = "identification";
  static absl::Status Begin(Registry* r, const Principal& who,
                            const Header& h) {
    return r->BeginIdentification(who, h);
  }
  static absl::StatusOr<Response> Finish(Registry* r, const Principal& who,
                                         const Header& h,
                                         const std::string& file) {
    return r->FinishIdentification(who, h, file);
  }
  template <typename Done>
  static void Complete(Registry*, const Header&,
                       absl::StatusOr<Response> result, Done done) {
    done(std::move(result));
  }
};

// Receives a file (header, then chunks, held in memory up to the declared
// size), then runs the call on the worker pool.
template <typename Call>
class FileReactor final
    : public grpc::ServerReadReactor<typename Call::Request> {
 public:
  using Base = grpc::ServerReadReactor<typename Call::Request>;
  using Base::Finish;
  using Base::StartRead;
  FileReactor(Registry* registry, WorkerPool* pool,
              absl::StatusOr<Principal> who, typename Call::Response* response)
      : registry_(registry),
        pool_(pool),
        response_(response),
        clock_(registry->limits()) {
    if (!who.ok()) {
      Finish(ToGrpc(who.status()));
      return;
    }
    who_ = *std::move(who);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      EndOfStream();
      return;
    }
    absl::Status status = clock_.Check(Call::kWhat);
    if (status.ok()) status = Receive();
    if (!status.ok()) std::string().swap(file_);
    if (!status.ok()) {
      Finish(ToGrpc(status));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  absl::Status Receive() {
    if (!started_) {
      if (!request_.has_header()) {
        return absl::InvalidArgumentError(
            "header: the first message must be the header");
      }
      header_ = request_.header();
      started_ = true;
      if (auto s = Call::Begin(registry_, who_, header_); !s.ok()) {
        return s;
      }
      file_.reserve(header_.size_bytes());
      return absl::OkStatus();
    }
    if (!request_.has_chunk() || request_.chunk().empty() ||
        request_.chunk().size() > kMaxUploadChunk) {
      return absl::InvalidArgumentError(
          "chunk: expected chunks of 1 byte to 1 MiB after the header");
    }
    if (file_.size() + request_.chunk().size() > header_.size_bytes()) {
      return absl::InvalidArgumentError(
          "header.size_bytes: more bytes arrived than declared");
    }
    file_ += request_.chunk();
    return absl::OkStatus();
  }

  void EndOfStream() {
    if (!started_) {
      Finish(ToGrpc(absl::InvalidArgumentError(
          "header: the stream ended before the header")));
      return;
    }
    if (file_.size() != header_.size_bytes()) {
      Finish(ToGrpc(absl::InvalidArgumentError(
          StrCat("header.size_bytes: declared ", header_.size_bytes(),
                 " bytes but ", file_.size(), " arrived (truncated)"))));
      return;
    }
    pool_->Submit([this] {
      auto result = Call::Finish(registry_, who_, header_, file_);
      std::string().swap(file_);
      Call::Complete(registry_, header_, std::move(result),
                     [this](absl::StatusOr<typename Call::Response> r) {
                       if (r.ok()) *response_ = *std::move(r);
                       Finish(ToGrpc(r.status()));
                     });
    });
  }

  Registry* registry_;
  WorkerPool* pool_;
  typename Call::Response* response_;
  CallClock clock_;
  Principal who_;
  typename Call::Request request_;
  typename Call::Header header_;
  bool started_ = false;
  std::string file_;
};

// Streams an asset: a header, then verified chunks; one write in flight.
class DownloadReactor final
    : public grpc::ServerWriteReactor<v1::DownloadAssetResponse> {
 public:
  DownloadReactor(absl::StatusOr<std::unique_ptr<storage::AssetReader>> reader,
                  const std::string& sha256) {
    if (!reader.ok()) {
      Finish(ToGrpc(reader.status()));
      return;
    }
    reader_ = *std::move(reader);
    response_.mutable_header()->set_sha256(sha256);
    response_.mutable_header()->set_size_bytes(reader_->size_bytes());
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    auto chunk = reader_->NextChunk();
    if (!chunk.ok()) {
      Finish(ToGrpc(chunk.status()));
    } else if (!chunk->has_value()) {
      Finish(grpc::Status::OK);
    } else {
      response_.set_chunk(**std::move(chunk));
      StartWrite(&response_);
    }
  }

  void OnDone() override { delete this; }

 private:
  std::unique_ptr<storage::AssetReader> reader_;
  v1::DownloadAssetResponse response_;
};

}  // namespace

grpc::ServerUnaryReactor* RegistryService::CreatePiece(
    grpc::CallbackServerContext* ctx, const v1::CreatePieceRequest* request,
    v1::Piece* response) {
  return RunWrite(ctx, *policy_, response,
                  [this, request](const Principal& who, auto done) {
                    registry_->CreatePiece(who, *request, std::move(done));
                  });
}

grpc::ServerUnaryReactor* RegistryService::AddVersion(
    grpc::CallbackServerContext* ctx, const v1::AddVersionRequest* request,
    v1::TwinVersion* response) {
  return RunWrite(ctx, *policy_, response,
                  [this, request](const Principal& who, auto done) {
                    registry_->AddVersion(who, *request, std::move(done));
                  });
}

grpc::ServerUnaryReactor* RegistryService::GetPiece(
    grpc::CallbackServerContext* ctx, const v1::GetPieceRequest* request,
    v1::Piece* response) {
  return RunRead(
      ctx, *policy_, response,
      [this, request](const Principal& who) {
        return registry_->GetPiece(who, *request);
      },
      Auth::kOptional);  // Public facts (docs/api.md).
}

grpc::ServerUnaryReactor* RegistryService::GetVersion(
    grpc::CallbackServerContext* ctx, const v1::GetVersionRequest* request,
    v1::TwinVersion* response) {
  return RunRead(
      ctx, *policy_, response,
      [this, request](const Principal& who) {
        return registry_->GetVersion(who, *request);
      },
      Auth::kOptional);  // Public facts (docs/api.md).
}

grpc::ServerUnaryReactor* RegistryService::ListVersions(
    grpc::CallbackServerContext* ctx, const v1::ListVersionsRequest* request,
    v1::ListVersionsResponse* response) {
  return RunRead(
      ctx, *policy_, response,
      [this, request](const Principal& who) {
        return registry_->ListVersions(who, *request);
      },
      Auth::kOptional);  // Public facts (docs/api.md).
}

grpc::ServerUnaryReactor* RegistryService::ListPieces(
    grpc::CallbackServerContext* ctx, const v1::ListPiecesRequest* request,
    v1::ListPiecesResponse* response) {
  return RunRead(ctx, *policy_, response,
                 [this, request](const Principal& who) {
                   return registry_->ListPieces(who, *request);
                 });
}

grpc::ServerUnaryReactor* RegistryService::IssueCertificate(
    grpc::CallbackServerContext* ctx,
    const v1::IssueCertificateRequest* request, v1::Certificate* response) {
  return RunWrite(ctx, *policy_, response,
                  [this, request](const Principal& who, auto done) {
                    registry_->IssueCertificate(who, *request, std::move(done));
                  });
}

grpc::ServerUnaryReactor* RegistryService::GetCertificate(
    grpc::CallbackServerContext* ctx, const v1::GetCertificateRequest* request,
    v1::Certificate* response) {
  // Its proof waits for a checkpoint of the log as it is now (no signing
  // here): finished like a write.
  return RunWrite(
      ctx, *policy_, response,
      [this, request](const Principal& who, auto done) {
        registry_->GetCertificateWhenPublished(who, *request, std::move(done));
      },
      Auth::kOptional);  // Public facts (docs/api.md).
}

grpc::ServerUnaryReactor* RegistryService::ListCertificates(
    grpc::CallbackServerContext* ctx,
    const v1::ListCertificatesRequest* request,
    v1::ListCertificatesResponse* response) {
  return RunRead(ctx, *policy_, response,
                 [this, request](const Principal& who) {
                   return registry_->ListCertificates(who, *request);
                 });
}

grpc::ServerReadReactor<v1::UploadAssetRequest>* RegistryService::UploadAsset(
    grpc::CallbackServerContext* ctx, v1::UploadAssetResponse* response) {
  return new UploadReactor(registry_, pool_, ctx, Authenticate(*policy_, ctx),
                           response);
}

grpc::ServerReadReactor<v1::CheckGeometryRequest>*
RegistryService::CheckGeometry(grpc::CallbackServerContext* ctx,
                               v1::GeometryCheck* response) {
  return new FileReactor<CheckCall>(registry_, pool_,
                                    Authenticate(*policy_, ctx), response);
}

grpc::ServerReadReactor<v1::IdentifyPieceRequest>*
RegistryService::IdentifyPiece(grpc::CallbackServerContext* ctx,
                               v1::Identification* response) {
  return new FileReactor<IdentifyCall>(registry_, pool_,
                                       Authenticate(*policy_, ctx), response);
}

grpc::ServerWriteReactor<v1::DownloadAssetResponse>*
RegistryService::DownloadAsset(grpc::CallbackServerContext* ctx,
                               const v1::DownloadAssetRequest* request) {
  auto who = Authenticate(*policy_, ctx);
  if (!who.ok()) return new DownloadReactor(who.status(), request->sha256());
  return new DownloadReactor(registry_->OpenDownload(*who, *request),
                             request->sha256());
}

grpc::ServerUnaryReactor* RegistryService::ChangeStatus(
    grpc::CallbackServerContext* ctx, const v1::ChangeStatusRequest* request,
    v1::Piece* response) {
  return RunWrite(
      ctx, *policy_, response,
      [this, request](const Principal& who, auto done) {
        registry_->ChangeStatus(who, *request, std::move(done));
      },
      Auth::kOptional);
}

grpc::ServerUnaryReactor* RegistryService::GetStatus(
    grpc::CallbackServerContext* ctx, const v1::GetStatusRequest* request,
    v1::PieceStatusStatement* response) {
  return RunRead(
      ctx, *policy_, response,
      [this, request](const Principal& who) {
        return registry_->GetStatus(who, *request);
      },
      Auth::kOptional);
}

grpc::ServerUnaryReactor* RegistryService::SetInsurers(
    grpc::CallbackServerContext* ctx, const v1::SetInsurersRequest* request,
    v1::Piece* response) {
  return RunWrite(
      ctx, *policy_, response,
      [this, request](const Principal& who, auto done) {
        registry_->SetInsurers(who, *request, std::move(done));
      },
      Auth::kRequired);
}

grpc::ServerUnaryReactor* RegistryService::SetOwner(
    grpc::CallbackServerContext* ctx, const v1::SetOwnerRequest* request,
    v1::Piece* response) {
  return RunWrite(
      ctx, *policy_, response,
      [this, request](const Principal& who, auto done) {
        registry_->SetOwner(who, *request, std::move(done));
      },
      Auth::kRequired);
}

grpc::ServerUnaryReactor* RegistryService::TransferOwner(
    grpc::CallbackServerContext* ctx, const v1::TransferOwnerRequest* request,
    v1::Piece* response) {
  return RunWrite(
      ctx, *policy_, response,
      [this, request](const Principal& who, auto done) {
        registry_->TransferOwner(who, *request, std::move(done));
      },
      Auth::kOptional);
}

grpc::ServerUnaryReactor* RegistryService::ListOwners(
    grpc::CallbackServerContext* ctx, const v1::ListOwnersRequest* request,
    v1::ListOwnersResponse* response) {
  return RunRead(
      ctx, *policy_, response,
      [this, request](const Principal& who) {
        return registry_->ListOwners(who, *request);
      },
      Auth::kOptional);
}

}  // namespace loupe::server
