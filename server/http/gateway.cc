#include "server/http/gateway.h"

#include <google/protobuf/util/json_util.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/file.h"
#include "base/str_cat.h"
#include "server/http/tiles.h"

namespace loupe::server::http {
namespace {

constexpr size_t kMaxTarget = 2048;
constexpr char kJson[] = "application/json";
constexpr char kImmutable[] = "public, max-age=31536000, immutable";

Response Text(int status, std::string body, std::string route = "") {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.route = std::move(route);
  return r;
}

std::string JsonString(std::string_view s) {
  return nlohmann::json(std::string(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response Error(const absl::Status& s, std::string route) {
  Response r;
  r.status = HttpStatusFor(s.code());
  r.content_type = kJson;
  r.route = std::move(route);
  r.body = StrCat(
      "{\"error\":{\"code\":", JsonString(absl::StatusCodeToString(s.code())),
      ",\"message\":", JsonString(std::string(s.message())), "}}\n");
  if (r.status == 401) r.headers.push_back({"WWW-Authenticate", "Bearer"});
  if (r.status == 429) r.headers.push_back({"Retry-After", "1"});
  return r;
}

Response Json(const google::protobuf::Message& m, std::string route) {
  Response r;
  r.content_type = kJson;
  r.route = std::move(route);
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (auto s = google::protobuf::util::MessageToJsonString(m, &r.body, options);
      !s.ok()) {
    return Error(absl::InternalError(StrCat("json: ", s.ToString())), r.route);
  }
  r.body += "\n";
  r.headers.push_back({"Cache-Control", "no-cache"});
  return r;
}

template <typename T>
Response JsonOr(const absl::StatusOr<T>& result, std::string route) {
  if (!result.ok()) return Error(result.status(), std::move(route));
  return Json(*result, std::move(route));
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    out.push_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

// The value of `key` in a query string ("a=1&b=2"), or "".
std::string_view QueryValue(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

// A number from the query; `fallback` when absent.
absl::StatusOr<uint64_t> QueryNumber(std::string_view query,
                                     std::string_view key, uint64_t fallback) {
  const std::string_view v = QueryValue(query, key);
  if (v.empty()) return fallback;
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) {
    return absl::InvalidArgumentError(
        StrCat(key, ": \"", v, "\" is not a whole number"));
  }
  return n;
}

// A version number in a path: a whole number, 0 for the current one.
absl::StatusOr<uint32_t> VersionNumber(std::string_view segment) {
  uint32_t number = 0;
  const auto [end, ec] =
      std::from_chars(segment.data(), segment.data() + segment.size(), number);
  if (ec != std::errc() || end != segment.data() + segment.size()) {
    return absl::InvalidArgumentError(
        "number: a version is a whole number (0 = current)");
  }
  return number;
}

// Ids travel in paths: letters, digits, '_', '-', '.', at most 128, and
// never "." or "..".
bool PlainSegment(std::string_view s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' &&
        c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kUnimplemented:
      return 501;
    default:
      return 500;
  }
}

Response Gateway::Handle(const Request& request) const {
  Response r = Route(request);
  if (request.method == "HEAD") {
    r.headers.push_back({"Content-Length", std::to_string(r.body.size())});
    r.body.clear();
  }
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  return r;
}

Response Gateway::Route(const Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    Response r =
        Text(405, "only GET and HEAD: the gateway only reads\n", "(method)");
    r.headers.push_back({"Allow", "GET, HEAD"});
    return r;
  }
  const std::string_view target = request.target;
  if (target.size() > kMaxTarget) {
    return Text(414, StrCat("target: longer than ", kMaxTarget, " bytes\n"),
                "(invalid)");
  }
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? "" : target.substr(q + 1);
  // Nothing here needs escapes, dot segments or empty segments: refusing
  // them closes every traversal trick at once.
  if (path.empty() || path[0] != '/' ||
      path.find_first_of("%\\") != std::string_view::npos ||
      path.find("//") != std::string_view::npos ||
      path.find("/./") != std::string_view::npos ||
      path.find("/../") != std::string_view::npos || path.ends_with("/..") ||
      path.ends_with("/.")) {
    return Text(400,
                "path: must be plain (no escapes, dot or empty segments)\n",
                "(invalid)");
  }
  if (path == "/healthz") return Text(200, "ok\n", "/healthz");
  if (path == "/favicon.ico") return Text(204, "", "/favicon.ico");
  if (path == "/readyz") return Ready();
  if (path == "/metrics") return Metrics();
  if (path == "/checkpoint") {
    if (parts_.log == nullptr) {
      return Text(503, "no checkpoints: the registry has no signing key\n",
                  "/checkpoint");
    }
    auto checkpoint = parts_.log->Checkpoint();
    if (!checkpoint.ok()) return Error(checkpoint.status(), "/checkpoint");
    Response r = Text(200, checkpoint->note(), "/checkpoint");
    r.headers.push_back({"Cache-Control", "no-cache"});
    return r;
  }
  if (path.starts_with("/tile/")) return Tile(path.substr(6));
  if (path.starts_with("/api/v1/")) return Api(request, path.substr(8), query);
  if (path.starts_with("/verify/")) {
    if (auto s = parts_.policy->Admit(Principal{}, request.peer); !s.ok()) {
      return Error(s, "/verify/(rate)");
    }
    return VerifyPage(path.substr(8), QueryValue(query, "print") == "1");
  }
  if (path.starts_with("/web/")) return Static(path.substr(5));
  if (path == "/") {
    return Text(200,
                "Loupe registry gateway. Verify a certificate at "
                "/verify/<certificate id>; JSON under /api/v1/; the log at "
                "/checkpoint and /tile/.\n",
                "/");
  }
  return Text(404, StrCat("no such page: ", path, "\n"), "(not found)");
}

Response Gateway::Ready() const {
  if (draining_) return Text(503, "draining: shutting down\n", "/readyz");
  if (auto s = parts_.store->LogHealth(); !s.ok()) {
    return Text(503, StrCat("log: ", s.message(), "\n"), "/readyz");
  }
  return Text(200, "ready\n", "/readyz");
}

Response Gateway::Metrics() const {
  std::string out = parts_.metrics != nullptr ? parts_.metrics->Render() : "";
  if (auto size = parts_.store->LogSize(); size.ok()) {
    out += StrCat(
        "# HELP loupe_log_entries Entries in the transparency log.\n"
        "# TYPE loupe_log_entries gauge\nloupe_log_entries ",
        *size, "\n");
  }
  if (!parts_.data_dir.empty()) {
    out += StrCat(
        "# HELP loupe_storage_bytes Bytes in the data directory.\n"
        "# TYPE loupe_storage_bytes gauge\nloupe_storage_bytes ",
        DirectoryBytes(parts_.data_dir), "\n");
  }
  Response r = Text(200, std::move(out), "/metrics");
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

Response Gateway::Tile(std::string_view path) const {
  auto tile = ParseTilePath(path);
  const std::string route =
      tile.ok() && tile->entries ? "/tile/entries/{N}" : "/tile/{L}/{N}";
  if (!tile.ok()) return Error(tile.status(), route);
  std::string body;
  if (tile->entries) {
    auto entries = parts_.store->LogEntries(tile->index * kTileWidth,
                                            static_cast<size_t>(tile->width));
    if (!entries.ok()) return Error(entries.status(), route);
    if (entries->size() != static_cast<size_t>(tile->width)) {
      return Error(absl::NotFoundError(
                       StrCat("tile/entries/", TilePathString(*tile),
                              ": the log does not have these entries yet")),
                   route);
    }
    auto bundle = EntryBundle(*entries);
    if (!bundle.ok()) return Error(bundle.status(), route);
    body = *std::move(bundle);
  } else {
    auto hashes = parts_.store->LogNodeHashes(
        8 * tile->level, tile->index * kTileWidth, tile->width);
    if (!hashes.ok()) return Error(hashes.status(), route);
    for (const auto& h : *hashes) body.append(h.begin(), h.end());
  }
  Response r = Text(200, std::move(body), route);
  r.content_type = "application/octet-stream";
  // A full tile never changes; a partial one is replaced by a wider one,
  // but its own bytes never change either.
  r.headers.push_back(
      {"Cache-Control", tile->full() ? kImmutable : "public, max-age=3600"});
  return r;
}

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
  auto who = parts_.policy->Authenticate(request.authorization);
  if (request.authorization.empty()) who = Principal{};
  if (!who.ok()) return Error(who.status(), "/api/v1/(auth)");
  if (auto s = parts_.policy->Admit(*who, request.peer); !s.ok()) {
    return Error(s, "/api/v1/(rate)");
  }
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
    if (s.size() == 5 && s[2] == "versions" && s[4] == "preview") {
      auto number = VersionNumber(s[3]);
      if (!number.ok()) {
        return Error(number.status(),
                     "/api/v1/pieces/{id}/versions/{n}/preview");
      }
      return Preview(*who, id, *number);
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
  // against the newest checkpoint), so it is kept per log size. Stapled
  // status statements are fresh every time.
  const auto size = parts_.store->LogSize();
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

Response Gateway::Preview(const Principal& who, const std::string& id,
                          uint32_t number) const {
  const std::string route = "/api/v1/pieces/{id}/versions/{n}/preview";
  if (parts_.previews == nullptr) {
    return Error(absl::UnavailableError("previews are off"), route);
  }
  v1::GetVersionRequest r;
  r.set_piece_id(id);
  r.set_number(number);
  auto version = parts_.registry->GetVersion(who, r);
  if (!version.ok()) return Error(version.status(), route);
  auto preview = parts_.previews->For(*version);
  if (!preview.ok()) return Error(preview.status(), route);
  Response out = Text(200, **preview, route);
  out.content_type = "application/octet-stream";
  out.headers.push_back({"Cache-Control", "public, max-age=3600"});
  return out;
}

namespace {

// The files the verify page loads: a fixed list, so no request names a
// path on disk.
struct WebFile {
  std::string_view name, path, type;
};
constexpr WebFile kWebFiles[] = {
    {"verify.js", "verify.js", "text/javascript; charset=utf-8"},
    {"three.module.js", "node_modules/three/build/three.module.js",
     "text/javascript; charset=utf-8"},
    {"three.core.js", "node_modules/three/build/three.core.js",
     "text/javascript; charset=utf-8"},
    {"ed25519.js", "node_modules/@noble/ed25519/index.js",
     "text/javascript; charset=utf-8"},
    {"qrcode.mjs", "node_modules/qrcode-generator/dist/qrcode.mjs",
     "text/javascript; charset=utf-8"},
};

}  // namespace

Response Gateway::Static(std::string_view name) const {
  const WebFile* file = nullptr;
  for (const auto& f : kWebFiles) {
    if (f.name == name) file = &f;
  }
  if (parts_.web_dir.empty() || file == nullptr) {
    return Text(404, "no such file\n", "/web/{file}");
  }
  std::ifstream in(std::filesystem::path(parts_.web_dir) / file->path,
                   std::ios::binary);
  if (!in) return Text(404, "no such file\n", "/web/{file}");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  Response r = Text(200, bytes.str(), "/web/{file}");
  r.content_type = std::string(file->type);
  r.headers.push_back({"Cache-Control", "public, max-age=3600"});
  return r;
}

}  // namespace loupe::server::http
