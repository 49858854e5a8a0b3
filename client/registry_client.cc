#include "client/registry_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <optional>
#include <string_view>

#include "absl/strings/ascii.h"
#include "base/file.h"
#include "base/str_cat.h"
#include "crypto/sha256.h"

namespace loupe::client {
namespace {

constexpr int kUnaryDeadlineSeconds = 30;
constexpr size_t kChunk = 1 << 20;

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

template <typename Response, typename Request, typename Method>
absl::StatusOr<Response> Unary(const RegistryClient& client,
                               const Request& request, Method method) {
  grpc::ClientContext ctx;
  client.Prepare(&ctx, kUnaryDeadlineSeconds);
  Response response;
  grpc::Status s = method(&ctx, request, &response);
  if (!s.ok()) return FromGrpc(s);
  return response;
}

// Initial metadata of UploadAsset (server/rpc/registry_service.cc): the
// size above which the server wants the digest in the header, or "never".
constexpr char kDigestFirstAbove[] = "loupe-digest-first-above";
// How long to wait for it before treating the server as one that does not
// send it (older than this client): the digest then goes first, as it
// always did.
constexpr auto kStartWait = std::chrono::seconds(5);

using UploadWriter = grpc::ClientWriter<v1::UploadAssetRequest>;

// Whether the server wants an upload of `size` bytes declared with its
// digest up front; nullopt if it did not say within kStartWait.
std::optional<bool> ServerWantsDigestFirst(grpc::ClientContext& ctx,
                                           UploadWriter& writer,
                                           uint64_t size) {
  auto said = std::async(std::launch::async,
                         [&writer] { writer.WaitForInitialMetadata(); });
  if (said.wait_for(kStartWait) != std::future_status::ready) {
    ctx.TryCancel();
    said.wait();
    return std::nullopt;
  }
  const auto& metadata = ctx.GetServerInitialMetadata();
  const auto it = metadata.find(kDigestFirstAbove);
  if (it == metadata.end()) return true;
  const std::string_view value(it->second.data(), it->second.size());
  uint64_t above = 0;
  const auto [end, error] =
      std::from_chars(value.data(), value.data() + value.size(), above);
  if (error != std::errc() || end != value.data() + value.size()) {
    return false;  // "never", or not a size.
  }
  return size > above;
}

// What an upload sends, in order: the header (with the digest if `prepare`
// put it there), the chunks `next` yields (false when done), then the
// trailer with `trailer()`'s digest unless it returns "".
struct UploadParts {
  v1::UploadAssetHeader header;
  // Called once, with whether the server wants the digest in the header.
  std::function<absl::Status(bool digest_first, v1::UploadAssetHeader*)>
      prepare;
  std::function<absl::StatusOr<bool>(std::string*)> next;
  std::function<std::string()> trailer;
  // Whether to wait for the server's word on where the digest goes; if
  // not, `prepare` is told to put it first.
  bool ask_server = true;
};

absl::StatusOr<v1::UploadAssetResponse> StreamUpload(RegistryClient& client,
                                                     UploadParts& parts) {
  for (bool ask = parts.ask_server;; ask = false) {
    grpc::ClientContext ctx;
    client.Prepare(&ctx, 0);
    v1::UploadAssetResponse response;
    auto writer = client.stub().UploadAsset(&ctx, &response);
    std::optional<bool> digest_first = true;
    if (ask) {
      digest_first =
          ServerWantsDigestFirst(ctx, *writer, parts.header.size_bytes());
      if (!digest_first) {
        writer->Finish();
        continue;  // A server that does not say: again, digest first.
      }
    }
    v1::UploadAssetRequest message;
    *message.mutable_header() = parts.header;
    if (auto s = parts.prepare(*digest_first, message.mutable_header());
        !s.ok()) {
      ctx.TryCancel();
      writer->Finish();
      return s;
    }
    bool open = writer->Write(message);
    while (open) {
      auto more = parts.next(message.mutable_chunk());
      if (!more.ok()) {
        ctx.TryCancel();
        writer->Finish();
        return more.status();
      }
      if (!*more) break;
      open = writer->Write(message);
    }
    if (std::string digest = open ? parts.trailer() : ""; !digest.empty()) {
      message.mutable_trailer()->set_sha256(std::move(digest));
      open = writer->Write(message);
    }
    if (open) writer->WritesDone();
    grpc::Status s = writer->Finish();
    if (!s.ok()) return FromGrpc(s);
    return response;
  }
}

}  // namespace

ChannelOptions ChannelOptions::FromEnvironment() {
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value == nullptr ? "" : value;
  };
  return {env("LOUPE_CA"), env("LOUPE_CERT"), env("LOUPE_KEY"),
          env("LOUPE_PLAINTEXT") == "1"};
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target,
                                           const ChannelOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(8 << 20);
  args.SetMaxSendMessageSize(8 << 20);
  auto read = [](const std::string& path) -> std::string {
    if (path.empty()) return "";
    auto text = ReadFileToString(path);
    return text.ok() ? *text : "";
  };
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.plaintext && options.ca_file.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = read(options.ca_file);
    tls.pem_cert_chain = read(options.cert_file);
    tls.pem_private_key = read(options.key_file);
    credentials = grpc::SslCredentials(tls);
  }
  return grpc::CreateCustomChannel(target, credentials, args);
}

RegistryClient::RegistryClient(const std::string& target, std::string token,
                               const ChannelOptions& options)
    : RegistryClient(MakeChannel(target, options), std::move(token)) {}

RegistryClient::RegistryClient(std::shared_ptr<grpc::Channel> channel,
                               std::string token)
    : channel_(std::move(channel)),
      stub_(v1::RegistryService::NewStub(channel_)),
      log_stub_(v1::TransparencyLogService::NewStub(channel_)),
      admin_stub_(v1::AdminService::NewStub(channel_)),
      token_(std::move(token)) {}

void RegistryClient::Prepare(grpc::ClientContext* ctx,
                             int deadline_seconds) const {
  if (!token_.empty()) ctx->AddMetadata("authorization", "Bearer " + token_);
  if (deadline_seconds > 0) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(deadline_seconds));
  }
}

absl::StatusOr<v1::Piece> RegistryClient::CreatePiece(
    const v1::CreatePieceRequest& request) {
  return Unary<v1::Piece>(*this, request, [&](auto* ctx, auto& rq, auto* rs) {
    return stub_->CreatePiece(ctx, rq, rs);
  });
}

absl::StatusOr<v1::TwinVersion> RegistryClient::AddVersion(
    const v1::AddVersionRequest& request) {
  return Unary<v1::TwinVersion>(*this, request,
                                [&](auto* ctx, auto& rq, auto* rs) {
                                  return stub_->AddVersion(ctx, rq, rs);
                                });
}

absl::StatusOr<v1::Piece> RegistryClient::GetPiece(const std::string& id) {
  v1::GetPieceRequest request;
  request.set_piece_id(id);
  return Unary<v1::Piece>(*this, request, [&](auto* ctx, auto& rq, auto* rs) {
    return stub_->GetPiece(ctx, rq, rs);
  });
}

absl::StatusOr<v1::TwinVersion> RegistryClient::GetVersion(
    const std::string& piece_id, uint32_t number) {
  v1::GetVersionRequest request;
  request.set_piece_id(piece_id);
  request.set_number(number);
  return Unary<v1::TwinVersion>(*this, request,
                                [&](auto* ctx, auto& rq, auto* rs) {
                                  return stub_->GetVersion(ctx, rq, rs);
                                });
}

absl::StatusOr<v1::ListVersionsResponse> RegistryClient::ListVersions(
    const v1::ListVersionsRequest& request) {
  return Unary<v1::ListVersionsResponse>(
      *this, request, [&](auto* ctx, auto& rq, auto* rs) {
        return stub_->ListVersions(ctx, rq, rs);
      });
}

absl::StatusOr<v1::ListPiecesResponse> RegistryClient::ListPieces(
    const v1::ListPiecesRequest& request) {
  return Unary<v1::ListPiecesResponse>(*this, request,
                                       [&](auto* ctx, auto& rq, auto* rs) {
                                         return stub_->ListPieces(ctx, rq, rs);
                                       });
}

absl::StatusOr<v1::Certificate> RegistryClient::IssueCertificate(
    const std::string& piece_id, uint32_t version) {
  v1::IssueCertificateRequest request;
  request.set_piece_id(piece_id);
  request.set_version(version);
  return Unary<v1::Certificate>(*this, request,
                                [&](auto* ctx, auto& rq, auto* rs) {
                                  return stub_->IssueCertificate(ctx, rq, rs);
                                });
}

absl::StatusOr<v1::Certificate> RegistryClient::GetCertificate(
    const std::string& id, bool staple_status) {
  v1::GetCertificateRequest request;
  request.set_certificate_id(id);
  request.set_staple_status(staple_status);
  return Unary<v1::Certificate>(*this, request,
                                [&](auto* ctx, auto& rq, auto* rs) {
                                  return stub_->GetCertificate(ctx, rq, rs);
                                });
}

absl::StatusOr<v1::ListCertificatesResponse> RegistryClient::ListCertificates(
    const std::string& piece_id) {
  v1::ListCertificatesRequest request;
  request.set_piece_id(piece_id);
  return Unary<v1::ListCertificatesResponse>(
      *this, request, [&](auto* ctx, auto& rq, auto* rs) {
        return stub_->ListCertificates(ctx, rq, rs);
      });
}

absl::StatusOr<v1::UploadAssetResponse> RegistryClient::UploadFile(
    const std::string& path, const ProgressFn& progress) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (!in || ec) return absl::NotFoundError(StrCat(path, ": cannot open"));
  UploadParts parts;
  parts.header.set_size_bytes(size);
  parts.header.set_file_name(std::filesystem::path(path).filename().string());
  parts.header.set_media_type(MediaTypeFor(path));
  // Either the digest first (a read of the file, at memory speed from the
  // page cache), so that the server can stream the bytes to their final
  // place as they arrive (object storage keys them by it), or hashed while
  // sending and declared in the trailer. Either way a file that changes in
  // between fails the server's check.
  std::optional<crypto::Sha256> running;
  parts.prepare = [&](bool digest_first, v1::UploadAssetHeader* header) {
    if (!digest_first) {
      running.emplace();
      return absl::OkStatus();
    }
    crypto::Sha256 hasher;
    std::string block(kChunk, '\0');
    while (in.read(block.data(), static_cast<std::streamsize>(block.size())) ||
           in.gcount() > 0) {
      hasher.Update(
          std::string_view(block.data(), static_cast<size_t>(in.gcount())));
    }
    header->set_sha256(crypto::ToHex(hasher.Finish()));
    in.clear();
    in.seekg(0);
    return absl::OkStatus();
  };
  uint64_t sent = 0;
  parts.next = [&](std::string* chunk) -> absl::StatusOr<bool> {
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(kChunk, size - sent));
    if (want == 0) return false;
    chunk->resize(want);
    in.read(chunk->data(), static_cast<std::streamsize>(want));
    if (static_cast<size_t>(in.gcount()) != want) {
      return absl::DataLossError(StrCat(path, ": changed while uploading"));
    }
    if (running) running->Update(*chunk);
    sent += want;
    if (progress) progress(sent, size);
    return true;
  };
  parts.trailer = [&]() -> std::string {
    return running ? crypto::ToHex(running->Finish()) : "";
  };
  return StreamUpload(*this, parts);
}

absl::StatusOr<v1::UploadAssetResponse> RegistryClient::UploadBytes(
    const v1::UploadAssetHeader& header, std::string_view bytes,
    bool digest_in_trailer) {
  UploadParts parts;
  parts.header = header;
  parts.ask_server = false;  // The caller chose where the digest goes.
  parts.prepare = [&](bool, v1::UploadAssetHeader* sent) {
    if (digest_in_trailer) sent->clear_sha256();
    return absl::OkStatus();
  };
  size_t offset = 0;
  parts.next = [&](std::string* chunk) -> absl::StatusOr<bool> {
    if (offset >= bytes.size()) return false;
    const size_t n = std::min(kChunk, bytes.size() - offset);
    chunk->assign(bytes.substr(offset, n));
    offset += n;
    return true;
  };
  parts.trailer = [&] { return digest_in_trailer ? header.sha256() : ""; };
  return StreamUpload(*this, parts);
}

absl::Status RegistryClient::DownloadToFile(
    const v1::DownloadAssetRequest& request, const std::string& path,
    const ProgressFn& progress) {
  const bool to_stdout = path == "-";
  const std::string partial = path + ".part";
  std::ofstream file;
  if (!to_stdout) {
    file.open(partial, std::ios::binary | std::ios::trunc);
    if (!file) return absl::PermissionDeniedError(partial + ": cannot write");
  }
  std::ostream& out = to_stdout ? std::cout : file;
  grpc::ClientContext ctx;
  Prepare(&ctx, 0);
  auto reader = stub_->DownloadAsset(&ctx, request);
  v1::DownloadAssetResponse message;
  crypto::Sha256 hasher;
  uint64_t total = 0, received = 0;
  while (reader->Read(&message)) {
    if (message.has_header()) {
      total = message.header().size_bytes();
      continue;
    }
    hasher.Update(message.chunk());
    out.write(message.chunk().data(),
              static_cast<std::streamsize>(message.chunk().size()));
    received += message.chunk().size();
    if (progress) progress(received, total);
  }
  grpc::Status s = reader->Finish();
  out.flush();
  absl::Status result = FromGrpc(s);
  if (result.ok() && (received != total ||
                      crypto::ToHex(hasher.Finish()) != request.sha256())) {
    result = absl::DataLossError(
        "the downloaded bytes do not match the requested sha256");
  }
  if (to_stdout) return result;
  file.close();
  if (!result.ok() || !file) {
    std::filesystem::remove(partial);
    return result.ok() ? absl::InternalError(path + ": write failed") : result;
  }
  std::filesystem::rename(partial, path);
  return absl::OkStatus();
}

absl::StatusOr<std::string> RegistryClient::DownloadBytes(
    const v1::DownloadAssetRequest& request) {
  grpc::ClientContext ctx;
  Prepare(&ctx, 0);
  auto reader = stub_->DownloadAsset(&ctx, request);
  v1::DownloadAssetResponse message;
  std::string bytes;
  while (reader->Read(&message)) {
    if (message.has_chunk()) bytes += message.chunk();
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return FromGrpc(s);
  if (crypto::Sha256::HexOf(bytes) != request.sha256()) {
    return absl::DataLossError(
        "the downloaded bytes do not match the requested sha256");
  }
  return bytes;
}

std::string MediaTypeFor(const std::string& file_name) {
  std::string ext = absl::AsciiStrToLower(
      std::filesystem::path(file_name).extension().string());
  static const std::pair<const char*, const char*> kTypes[] = {
      {".stl", "model/stl"},         {".obj", "model/obj"},
      {".ply", "application/x-ply"}, {".3mf", "model/3mf"},
      {".step", "model/step"},       {".stp", "model/step"},
      {".jpg", "image/jpeg"},        {".jpeg", "image/jpeg"},
      {".png", "image/png"},         {".pdf", "application/pdf"},
      {".json", "application/json"}};
  for (const auto& [e, type] : kTypes) {
    if (ext == e) return type;
  }
  return "application/octet-stream";
}

namespace {

// Sends `header` (with the file's size), then `bytes` in chunks, on a
// client-streaming call opened by `open(&ctx, &response)`.
template <typename Request, typename Response, typename Header, typename Open>
absl::StatusOr<Response> SendFile(grpc::ClientContext& ctx, Header header,
                                  std::string_view bytes, size_t chunk,
                                  Open open) {
  header.set_size_bytes(bytes.size());
  Response response;
  auto writer = open(&ctx, &response);
  Request message;
  *message.mutable_header() = header;
  bool ok = writer->Write(message);
  for (size_t at = 0; ok && at < bytes.size(); at += chunk) {
    message.set_chunk(std::string(bytes.substr(at, chunk)));
    ok = writer->Write(message);
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  if (!s.ok()) return FromGrpc(s);
  return response;
}

}  // namespace

absl::StatusOr<v1::GeometryCheck> RegistryClient::CheckGeometry(
    v1::CheckGeometryHeader header, std::string_view bytes) {
  grpc::ClientContext ctx;
  Prepare(&ctx, 0);
  return SendFile<v1::CheckGeometryRequest, v1::GeometryCheck>(
      ctx, std::move(header), bytes, kChunk,
      [&](auto* c, auto* r) { return stub_->CheckGeometry(c, r); });
}

absl::StatusOr<v1::Identification> RegistryClient::IdentifyPiece(
    v1::IdentifyPieceHeader header, std::string_view bytes) {
  grpc::ClientContext ctx;
  Prepare(&ctx, 0);
  return SendFile<v1::IdentifyPieceRequest, v1::Identification>(
      ctx, std::move(header), bytes, kChunk,
      [&](auto* c, auto* r) { return stub_->IdentifyPiece(c, r); });
}

}  // namespace loupe::client
