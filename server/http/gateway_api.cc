// The gateway's read-only JSON API (/api/v1/...): the gRPC reads with the
// same access rules, a certificate's JSON kept per log size, asset bytes for
// callers allowed to read them, and the 3D preview (answered when drawn, off
// the I/O thread: PreviewAsync).
#include <charconv>
#include <optional>
#include <variant>

#include "base/status_macros.h"
#include "base/str_cat.h"
#include "server/http/gateway.h"
#include "server/http/responses.h"

namespace loupe::server::http {

namespace {

// Whether `segments` fit `pattern` ("pieces/{id}/versions"): as many
// segments, each equal to the pattern's or taken by a "{...}" placeholder.
bool Matches(std::string_view pattern,
             const std::vector<std::string_view>& segments) {
  const std::vector<std::string_view> want = Segments(pattern);
  if (want.size() != segments.size()) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!want[i].starts_with('{') && want[i] != segments[i]) return false;
  }
  return true;
}

uint32_t PageSize(uint64_t n) {
  return static_cast<uint32_t>(std::min<uint64_t>(n, 1u << 31));
}

}  // namespace

// What an /api/v1/ handler reads: the admitted caller, the path's segments
// (each plain), the query string, and the route's label ("/api/v1/" and
// the pattern), which its errors carry. Valid during the call.
struct Gateway::ApiCall {
  const Principal& who;
  const std::vector<std::string_view>& s;
  std::string_view query;
  const std::string& route;
};

// The /api/v1/ routes: a table of path patterns and handlers. Every route
// is a GET (Route() answers other methods 405, HEAD like GET). A handler's
// error status is answered as Error(status, route). Nested in Gateway, so
// handlers reach its parts; the log's handlers run only with a log.
class Gateway::ApiRoutes {
 public:
  using Handler = absl::StatusOr<Response> (*)(const Gateway&, const ApiCall&);
  struct Entry {
    std::string_view pattern;
    Handler handler;
  };
  // The route `segments` take, or null.
  [[nodiscard]] static const Entry* Find(
      const std::vector<std::string_view>& segments) {
    static constexpr Entry kRoutes[] = {
        {"pieces/{id}", &Piece},
        {"pieces/{id}/versions", &Versions},
        {"pieces/{id}/versions/{n}", &Version},
        {"pieces/{id}/status", &Status},
        {"pieces/{id}/owners", &Owners},
        {"assets/{sha256}", &Asset},
        {"trust-root", &TrustRoot},
        {"certificates/{id}", &Certificate},
        {"log/checkpoint", &Checkpoint},
        {"log/inclusion", &Inclusion},
        {"log/consistency", &Consistency},
        {"log/entries", &Entries},
    };
    for (const Entry& entry : kRoutes) {
      if (Matches(entry.pattern, segments)) return &entry;
    }
    return nullptr;
  }

 private:
  static absl::StatusOr<Response> Piece(const Gateway& g, const ApiCall& c) {
    v1::GetPieceRequest r;
    r.set_piece_id(std::string(c.s[1]));
    return JsonOr(g.parts_.registry->GetPiece(c.who, r), c.route);
  }
  static absl::StatusOr<Response> Versions(const Gateway& g, const ApiCall& c) {
    v1::ListVersionsRequest r;
    r.set_piece_id(std::string(c.s[1]));
    ASSIGN_OR_RETURN(const uint64_t size, QueryNumber(c.query, "page_size", 0));
    r.set_page_size(PageSize(size));
    r.set_page_token(std::string(QueryValue(c.query, "page_token")));
    return JsonOr(g.parts_.registry->ListVersions(c.who, r), c.route);
  }
  static absl::StatusOr<Response> Version(const Gateway& g, const ApiCall& c) {
    v1::GetVersionRequest r;
    r.set_piece_id(std::string(c.s[1]));
    ASSIGN_OR_RETURN(const uint32_t number, VersionNumber(c.s[3]));
    r.set_number(number);
    return JsonOr(g.parts_.registry->GetVersion(c.who, r), c.route);
  }
  static absl::StatusOr<Response> Status(const Gateway& g, const ApiCall& c) {
    v1::GetStatusRequest r;
    r.set_piece_id(std::string(c.s[1]));
    return JsonOr(g.parts_.registry->GetStatus(c.who, r), c.route);
  }
  static absl::StatusOr<Response> Owners(const Gateway& g, const ApiCall& c) {
    v1::ListOwnersRequest r;
    r.set_piece_id(std::string(c.s[1]));
    return JsonOr(g.parts_.registry->ListOwners(c.who, r), c.route);
  }
  static absl::StatusOr<Response> Asset(const Gateway& g, const ApiCall& c) {
    return g.Asset(c.who, std::string(c.s[1]),
                   std::string(QueryValue(c.query, "piece_id")));
  }
  static absl::StatusOr<Response> TrustRoot(const Gateway& g,
                                            const ApiCall& c) {
    std::string body = "{\"roots\":[";
    for (size_t i = 0; i < g.parts_.trust_roots.size(); ++i) {
      if (i > 0) body += ",";
      body += g.parts_.trust_roots[i];
    }
    Response r = Text(200, body + "]}\n", c.route);
    r.content_type = kJson;
    return r;
  }
  static absl::StatusOr<Response> Certificate(const Gateway& g,
                                              const ApiCall& c) {
    v1::GetCertificateRequest r;
    r.set_certificate_id(std::string(c.s[1]));
    r.set_staple_status(QueryValue(c.query, "staple_status") == "true");
    return g.Certificate(c.who, r);
  }
  static absl::StatusOr<Response> Checkpoint(const Gateway& g,
                                             const ApiCall& c) {
    return JsonOr(g.parts_.log->Checkpoint(), c.route);
  }
  static absl::StatusOr<Response> Inclusion(const Gateway& g,
                                            const ApiCall& c) {
    ASSIGN_OR_RETURN(const uint64_t index,
                     QueryNumber(c.query, "index", UINT64_MAX));
    ASSIGN_OR_RETURN(const uint64_t size, QueryNumber(c.query, "tree_size", 0));
    if (index == UINT64_MAX)
      return absl::InvalidArgumentError("index: required");
    v1::GetInclusionProofRequest r;
    r.set_index(index);
    r.set_tree_size(size);
    return JsonOr(g.parts_.log->InclusionProof(r), c.route);
  }
  static absl::StatusOr<Response> Consistency(const Gateway& g,
                                              const ApiCall& c) {
    v1::GetConsistencyProofRequest r;
    ASSIGN_OR_RETURN(const uint64_t old_size,
                     QueryNumber(c.query, "old_size", 0));
    ASSIGN_OR_RETURN(const uint64_t new_size,
                     QueryNumber(c.query, "new_size", 0));
    r.set_old_size(old_size);
    r.set_new_size(new_size);
    return JsonOr(g.parts_.log->ConsistencyProof(r), c.route);
  }
  static absl::StatusOr<Response> Entries(const Gateway& g, const ApiCall& c) {
    v1::GetEntriesRequest r;
    ASSIGN_OR_RETURN(const uint64_t start, QueryNumber(c.query, "start", 0));
    ASSIGN_OR_RETURN(const uint64_t count, QueryNumber(c.query, "count", 100));
    r.set_start(start);
    r.set_count(PageSize(count));
    return JsonOr(g.parts_.log->Entries(r), c.route);
  }
};

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
  // Without a signing key every log path is refused, known or not.
  if (s.size() >= 2 && s[0] == "log" && parts_.log == nullptr) {
    return Error(
        absl::FailedPreconditionError("log: the registry has no signing key"),
        StrCat("/api/v1/log/", s.back()));
  }
  const ApiRoutes::Entry* entry = ApiRoutes::Find(s);
  if (entry == nullptr) {
    return Error(absl::NotFoundError(StrCat("no such API: /api/v1/", path)),
                 "/api/v1/(not found)");
  }
  const std::string route = StrCat("/api/v1/", entry->pattern);
  absl::StatusOr<Response> out = entry->handler(
      *this, ApiCall{std::get<Principal>(caller), s, query, route});
  return out.ok() ? *std::move(out) : Error(out.status(), route);
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
      (s[4] != "preview" && s[4] != "preview.glb") || !PlainSegment(s[1]) ||
      !PlainSegment(s[3])) {
    return std::nullopt;  // Route() answers, or refuses it.
  }
  return PreviewPath{std::string(s[1]), std::string(s[3]),
                     s[4] == "preview.glb"};
}

void Gateway::PreviewAsync(const Request& request, const PreviewPath& target,
                           Done done) const {
  const std::string route = StrCat("/api/v1/pieces/{id}/versions/{n}/preview",
                                   target.glb ? ".glb" : "");
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
  const PreviewFormat format =
      target.glb ? PreviewFormat::kGlb : PreviewFormat::kLpv1;
  parts_.previews->Get(
      *version, format,
      [route, format,
       done = std::move(done)](absl::StatusOr<PreviewCache::Preview> p) {
        if (!p.ok()) {
          Response refused = Error(p.status(), route);
          if (absl::IsUnavailable(p.status())) {
            refused.headers.push_back({"Retry-After", "1"});
          }
          return done(std::move(refused));
        }
        Response out = Text(200, **p, route);
        out.content_type = format == PreviewFormat::kGlb
                               ? "model/gltf-binary"
                               : "application/octet-stream";
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
