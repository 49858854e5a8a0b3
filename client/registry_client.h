#pragma once

#include <grpcpp/channel.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "loupe/v1/admin.grpc.pb.h"
#include "loupe/v1/log.grpc.pb.h"
#include "loupe/v1/registry.grpc.pb.h"

namespace loupe::client {

// Called with the number of bytes moved so far.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// How a client reaches the registry: TLS by default, trusting the system's
// CAs or `ca_file` (PEM); with `cert_file` and `key_file` also a client
// certificate (mutual TLS). Plain text only when `plaintext` and no CA is
// named.
struct ChannelOptions {
  std::string ca_file, cert_file, key_file;
  bool plaintext = false;

  // From LOUPE_CA, LOUPE_CERT, LOUPE_KEY and LOUPE_PLAINTEXT=1.
  [[nodiscard]] static ChannelOptions FromEnvironment();
};

// A thin, blocking client of RegistryService that attaches the bearer token
// and turns gRPC statuses into absl::Status (same codes and messages).
// Thread-safe: calls may run concurrently from several threads.
class RegistryClient {
 public:
  // `target` is host:port; `token` may be empty (calls then fail
  // UNAUTHENTICATED).
  RegistryClient(
      const std::string& target, std::string token,
      const ChannelOptions& options = ChannelOptions::FromEnvironment());
  RegistryClient(std::shared_ptr<grpc::Channel> channel, std::string token);

  [[nodiscard]] absl::StatusOr<v1::Piece> CreatePiece(
      const v1::CreatePieceRequest& request);
  [[nodiscard]] absl::StatusOr<v1::TwinVersion> AddVersion(
      const v1::AddVersionRequest& request);
  [[nodiscard]] absl::StatusOr<v1::Piece> GetPiece(const std::string& id);
  [[nodiscard]] absl::StatusOr<v1::TwinVersion> GetVersion(
      const std::string& piece_id, uint32_t number);
  [[nodiscard]] absl::StatusOr<v1::ListVersionsResponse> ListVersions(
      const v1::ListVersionsRequest& request);
  [[nodiscard]] absl::StatusOr<v1::ListPiecesResponse> ListPieces(
      const v1::ListPiecesRequest& request);

  [[nodiscard]] absl::StatusOr<v1::Certificate> IssueCertificate(
      const std::string& piece_id, uint32_t version);
  [[nodiscard]] absl::StatusOr<v1::Certificate> GetCertificate(
      const std::string& id, bool staple_status = false);
  [[nodiscard]] absl::StatusOr<v1::ListCertificatesResponse> ListCertificates(
      const std::string& piece_id);

  // Uploads a file in 1 MiB chunks. Where the server says its engine
  // streams uploads of this size to their final place (S3), the file is
  // hashed first and the digest declared in the header; otherwise it is
  // hashed while sending and the digest declared in the trailer. A server
  // that does not say within 5 s gets the digest first.
  [[nodiscard]] absl::StatusOr<v1::UploadAssetResponse> UploadFile(
      const std::string& path, const ProgressFn& progress = nullptr);
  // Uploads bytes held in memory, with the declared size and digest given
  // (tests use this to send mismatching declarations). With
  // `digest_in_trailer`, header.sha256 is sent in the trailer instead.
  [[nodiscard]] absl::StatusOr<v1::UploadAssetResponse> UploadBytes(
      const v1::UploadAssetHeader& header, std::string_view bytes,
      bool digest_in_trailer = false);

  // Streams `bytes` to CheckGeometry after `header` (size_bytes is set).
  [[nodiscard]] absl::StatusOr<v1::GeometryCheck> CheckGeometry(
      v1::CheckGeometryHeader header, std::string_view bytes);
  // Streams `bytes` (a scan) to IdentifyPiece after `header` (size_bytes
  // is set).
  [[nodiscard]] absl::StatusOr<v1::Identification> IdentifyPiece(
      v1::IdentifyPieceHeader header, std::string_view bytes);

  // Downloads an asset to `path` ("-" for stdout), verifying its SHA-256;
  // the file appears only once complete and verified.
  [[nodiscard]] absl::Status DownloadToFile(
      const v1::DownloadAssetRequest& request, const std::string& path,
      const ProgressFn& progress = nullptr);
  // Downloads into memory (for tests and small files), verified.
  [[nodiscard]] absl::StatusOr<std::string> DownloadBytes(
      const v1::DownloadAssetRequest& request);

  v1::RegistryService::Stub& stub() { return *stub_; }
  v1::TransparencyLogService::Stub& log_stub() { return *log_stub_; }
  v1::AdminService::Stub& admin_stub() { return *admin_stub_; }

  // One unary call, `method(context, request, response)` (e.g. a lambda
  // calling a stub method), with the token and a deadline (30 s unless
  // said otherwise).
  template <typename Response, typename Request, typename Method>
  [[nodiscard]] absl::StatusOr<Response> Call(const Request& request,
                                              Method method,
                                              int deadline_seconds = 30) const {
    grpc::ClientContext ctx;
    Prepare(&ctx, deadline_seconds);
    Response response;
    grpc::Status s = method(&ctx, request, &response);
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                          s.error_message());
    }
    return response;
  }
  // Prepares a context with the token and a deadline (0 = none).
  void Prepare(grpc::ClientContext* ctx, int deadline_seconds) const;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RegistryService::Stub> stub_;
  std::unique_ptr<v1::TransparencyLogService::Stub> log_stub_;
  std::unique_ptr<v1::AdminService::Stub> admin_stub_;
  std::string token_;
};

// Creates a channel to `target` whose messages may be up to 8 MiB.
// Unreadable files leave the TLS options empty, and the handshake then
// fails with gRPC's message.
std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& target,
    const ChannelOptions& options = ChannelOptions::FromEnvironment());

// The media type Loupe records for a file name, by extension.
[[nodiscard]] std::string MediaTypeFor(const std::string& file_name);

}  // namespace loupe::client
