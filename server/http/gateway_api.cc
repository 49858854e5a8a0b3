// The gateway's read-only JSON API (/api/v1/...): the gRPC reads with the
// same access rules, a certificate's JSON kept per log size, asset bytes for
// callers allowed to read them, and the 3D preview (answered when drawn, off
// the I/O thread: PreviewAsync).
#include <charconv>
#include <optional>
#include <variant>

#include "base/str_cat.h"
#include "server/http/gateway.h"
#include "server/http/responses.h"

namespace loupe::server::http {

Response Gateway::Api(const Request& request, std::string_view path,
                      std::string_view query) const {
  const std::vector<std::string_view> s = Segments(path);
  for (const auto& segment : s) {
    if (!PlainSegment(segment)) {
      return Error(absl::InvalidArgumentError(
                       StrCat("path: \"", segment.substr(0, 130),
                              "\" is not an id (letters, digits, _ - .)")),
                   "/api/v1/(invalid)");
    }
  }
  auto caller = Caller(request);
  if (auto* refusal = std::get_if<Response>(&caller)) return *refusal;
  const Principal* who = &std::get<Principal>(caller);
  Registry& registry = *parts_.registry;
  if (s.size() >= 2 && s[0] == "pieces") {
    const std::string id(s[1]);
    if (s.size() == 2) {
      v1::GetPieceRequest r;
      r.set_piece_id(id);
      return JsonOr(registry.GetPiece(*who, r), "/api/v1/pieces/{id}");
    }
    if (s.size() == 3 && s[2] == "versions") {
      v1::ListVersionsRequest r;
      r.set_piece_id(id);
      auto size = QueryNumber(query, "page_size", 0);
      if (!size.ok())
        return Error(size.status(), "/api/v1/pieces/{id}/versions");
      r.set_page_size(
          static_cast<uint32_t>(std::min<uint64_t>(*size, 1u << 31)));
      r.set_page_token(std::string(QueryValue(query, "page_token")));
      return JsonOr(registry.ListVersions(*who, r),
                    "/api/v1/pieces/{id}/versions");
    }
    if (s.size() == 4 && s[2] == "versions") {
      v1::GetVersionRequest r;
      r.set_piece_id(id);
      auto number = VersionNumber(s[3]);
      if (!number.ok()) {
        return Error(number.status(), "/api/v1/pieces/{id}/versions/{n}");
      }
      r.set_number(*number);
      return JsonOr(registry.GetVersion(*who, r),
                    "/api/v1/pieces/{id}/versions/{n}");
    }
    if (s.size() == 3 && s[2] == "status") {
      v1::GetStatusRequest r;
      r.set_piece_id(id);
      return JsonOr(registry.GetStatus(*who, r), "/api/v1/pieces/{id}/status");
    }
    if (s.size() == 3 && s[2] == "owners") {
      v1::ListOwnersRequest r;
      r.set_piece_id(id);
      return JsonOr(registry.ListOwners(*who, r), "/api/v1/pieces/{id}/owners");
    }
  }
  if (s.size() == 2 && s[0] == "assets") {
    return Asset(*who, std::string(s[1]),
                 std::string(QueryValue(query, "piece_id")));
  }
  if (s.size() == 1 && s[0] == "trust-root") {
    std::string body = "{\"roots\":[";
    for (size_t i = 0; i < parts_.trust_roots.size(); ++i) {
      if (i > 0) body += ",";
      body += parts_.trust_roots[i];
    }
    Response r = Text(200, body + "]}\n", "/api/v1/trust-root");
    r.content_type = kJson;
    return r;
  }
  if (s.size() == 2 && s[0] == "certificates") {
    v1::GetCertificateRequest r;
    r.set_certificate_id(std::string(s[1]));
    r.set_staple_status(QueryValue(query, "staple_status") == "true");
    return Certificate(*who, r);
  }
  if (s.size() >= 2 && s[0] == "log") {
    const std::string route = StrCat("/api/v1/log/", s.back());
    if (parts_.log == nullptr) {
      return Error(
          absl::FailedPreconditionError("log: the registry has no signing key"),
          route);
    }
    if (s.size() == 2 && s[1] == "checkpoint") {
      return JsonOr(parts_.log->Checkpoint(), route);
    }
    if (s.size() == 2 && s[1] == "inclusion") {
      v1::GetInclusionProofRequest r;
      auto index = QueryNumber(query, "index", UINT64_MAX);
      auto size = QueryNumber(query, "tree_size", 0);
      if (!index.ok()) return Error(index.status(), route);
      if (!size.ok()) return Error(size.status(), route);
      if (*index == UINT64_MAX) {
        return Error(absl::InvalidArgumentError("index: required"), route);
      }
      r.set_index(*index);
      r.set_tree_size(*size);
      return JsonOr(parts_.log->InclusionProof(r), route);
    }
    if (s.size() == 2 && s[1] == "consistency") {
      v1::GetConsistencyProofRequest r;
      auto old_size = QueryNumber(query, "old_size", 0);
      auto new_size = QueryNumber(query, "new_size", 0);
      if (!old_size.ok()) return Error(old_size.status(), route);
      if (!new_size.ok()) return Error(new_size.status(), route);
      r.set_old_size(*old_size);
      r.set_new_size(*new_size);
      return JsonOr(parts_.log->ConsistencyProof(r), route);
    }
    if (s.size() == 2 && s[1] == "entries") {
      v1::GetEntriesRequest r;
      auto start = QueryNumber(query, "start", 0);
      auto count = QueryNumber(query, "count", 100);
      if (!start.ok()) return Error(start.status(), route);
      if (!count.ok()) return Error(count.status(), route);
      r.set_start(*start);
      r.set_count(static_cast<uint32_t>(std::min<uint64_t>(*count, 1u << 31)));
      return JsonOr(parts_.log->Entries(r), route);
    }
  }
  return Error(absl::NotFoundError(StrCat("no such API: /api/v1/", path)),
               "/api/v1/(not found)");
}

Response Gateway::Asset(const Principal& who, const std::string& sha256,
                        const std::string& piece_id) const {
  const std::string route = "/api/v1/assets/{sha256}";
  if (who.id.empty()) {
    return Error(absl::UnauthenticatedError(
                     "authorization: asset bytes need a token (Authorization: "
                     "Bearer ...)"),
                 route);
  }
  v1::DownloadAssetRequest request;
  request.set_sha256(sha256);
  request.set_piece_id(piece_id);
  auto reader = parts_.registry->OpenDownload(who, request);
  if (!reader.ok()) return Error(reader.status(), route);
  if ((*reader)->size_bytes() > kMaxHttpAssetBytes) {
    return Error(absl::ResourceExhaustedError(
                     StrCat("sha256: the asset has ", (*reader)->size_bytes(),
                            " bytes; over HTTP at most ", kMaxHttpAssetBytes,
                            " (use loupe asset get, which streams)")),
                 route);
  }
  std::string body;
  body.reserve((*reader)->size_bytes());
  while (true) {
    auto chunk = (*reader)->NextChunk();
    if (!chunk.ok()) return Error(chunk.status(), route);
    if (!chunk->has_value()) break;
    body += **chunk;
  }
  Response out = Text(200, std::move(body), route);
  out.content_type = "application/octet-stream";
  out.headers.push_back({"Cache-Control", "private, no-store"});
  return out;
}

Response Gateway::Certificate(const Principal& who,
                              const v1::GetCertificateRequest& r) const {
  const std::string route = "/api/v1/certificates/{id}";
  // A certificate's JSON changes only when the log grows (its proof is
  // against the newest checkpoint) or witnesses cosign, so it is kept per
  // log size and cosignature generation. Stapled status statements are
  // fresh every time.
  const auto log_size = parts_.store->LogSize();
  const auto size =
      log_size.ok()
          ? absl::StatusOr<std::pair<uint64_t, uint64_t>>(
                std::pair(*log_size, parts_.log != nullptr
                                         ? parts_.log->cosignature_generation()
                                         : 0))
          : absl::StatusOr<std::pair<uint64_t, uint64_t>>(log_size.status());
  if (!r.staple_status() && size.ok()) {
    std::lock_guard lock(certificate_mu_);
    auto it = certificate_json_.find(r.certificate_id());
    if (it != certificate_json_.end() && it->second.first == *size) {
      Response cached;
      cached.content_type = kJson;
      cached.route = route;
      cached.body = *it->second.second;
      cached.headers.push_back({"Cache-Control", "no-cache"});
      return cached;
    }
  }
  Response out = JsonOr(parts_.registry->GetCertificate(who, r), route);
  if (out.status == 200 && !r.staple_status() && size.ok()) {
    std::lock_guard lock(certificate_mu_);
    if (certificate_json_.size() >= 10000) certificate_json_.clear();
    certificate_json_[r.certificate_id()] = {
        *size, std::make_shared<const std::string>(out.body)};
  }
  return out;
}

std::optional<Gateway::PreviewPath> Gateway::PreviewTarget(
    const Request& request) {
  if ((request.method != "GET" && request.method != "HEAD") ||
      request.target.size() > kMaxTarget) {
    return std::nullopt;
  }
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));
  if (!path.starts_with("/api/v1/")) return std::nullopt;
  const std::vector<std::string_view> s = Segments(path.substr(8));
  if (s.size() != 5 || s[0] != "pieces" || s[2] != "versions" ||
      s[4] != "preview" || !PlainSegment(s[1]) || !PlainSegment(s[3])) {
    return std::nullopt;  // Route() answers, or refuses it.
  }
  return PreviewPath{std::string(s[1]), std::string(s[3])};
}

void Gateway::PreviewAsync(const Request& request, const PreviewPath& target,
                           Done done) const {
  const std::string route = "/api/v1/pieces/{id}/versions/{n}/preview";
  auto caller = Caller(request);
  if (auto* refusal = std::get_if<Response>(&caller)) {
    return done(std::move(*refusal));
  }
  const Principal& who = std::get<Principal>(caller);
  auto number = VersionNumber(target.number);
  if (!number.ok()) return done(Error(number.status(), route));
  if (parts_.previews == nullptr) {
    return done(Error(absl::UnavailableError("previews are off"), route));
  }
  v1::GetVersionRequest r;
  r.set_piece_id(target.piece_id);
  r.set_number(*number);
  auto version = parts_.registry->GetVersion(who, r);
  if (!version.ok()) return done(Error(version.status(), route));
  parts_.previews->Get(*version, [route, done = std::move(done)](
                                     absl::StatusOr<PreviewCache::Preview> p) {
    if (!p.ok()) {
      Response refused = Error(p.status(), route);
      if (absl::IsUnavailable(p.status())) {
        refused.headers.push_back({"Retry-After", "1"});
      }
      return done(std::move(refused));
    }
    Response out = Text(200, **p, route);
    out.content_type = "application/octet-stream";
    out.headers.push_back({"Cache-Control", "public, max-age=3600"});
    done(std::move(out));
  });
}

std::variant<Principal, Response> Gateway::Caller(
    const Request& request) const {
  auto who = parts_.policy->Authenticate(request.authorization);
  if (request.authorization.empty()) who = Principal{};
  if (!who.ok()) return Error(who.status(), "/api/v1/(auth)");
  if (auto s = parts_.policy->Admit(*who, request.peer); !s.ok()) {
    return Error(s, "/api/v1/(rate)");
  }
  return *std::move(who);
}

}  // namespace loupe::server::http
