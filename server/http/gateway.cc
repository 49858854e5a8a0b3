#include "server/http/gateway.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "base/file.h"
#include "base/str_cat.h"
#include "server/http/responses.h"
#include "server/http/tiles.h"

namespace loupe::server::http {
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

namespace {

// What every answer gets: HEAD's length without the body, and headers.
Response Finish(bool head, Response r) {
  if (head) {
    r.headers.push_back({"Content-Length", std::to_string(r.body.size())});
    r.body.clear();
  }
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  // No page of the gateway may be framed (clickjacking a verdict); what is
  // not the verify page loads nothing at all.
  const bool has_csp = std::any_of(
      r.headers.begin(), r.headers.end(),
      [](const auto& h) { return h.first == "Content-Security-Policy"; });
  if (!has_csp) {
    r.headers.push_back({"Content-Security-Policy",
                         "default-src 'none'; frame-ancestors 'none'"});
  }
  return r;
}

}  // namespace

void Gateway::HandleAsync(const Request& request, Done done) const {
  Done finish = [head = request.method == "HEAD", done = std::move(done)](
                    Response r) { done(Finish(head, std::move(r))); };
  if (auto target = PreviewTarget(request)) {
    return PreviewAsync(request, *target, std::move(finish));
  }
  if (IdentifyAsync(request, finish)) return;
  finish(Route(request));
}

Response Gateway::Handle(const Request& request) const {
  std::promise<Response> answer;
  HandleAsync(request,
              [&answer](Response r) { answer.set_value(std::move(r)); });
  return answer.get_future().get();
}

Response Gateway::Route(const Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    Response r = Text(
        405,
        "only GET and HEAD (and POST /api/v1/identify): the gateway reads\n",
        "(method)");
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
  // them closes every traversal trick at once. The verify page alone takes
  // percent-escapes (a GS1 serial number in its link; compared, never a
  // file name).
  const std::string_view refused = path.starts_with("/verify/") ? "\\" : "%\\";
  if (path.empty() || path[0] != '/' ||
      path.find_first_of(refused) != std::string_view::npos ||
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
  if (path == "/metrics") return Metrics(request);
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
    return VerifyPage(request, path.substr(8), query);
  }
  if (path.starts_with("/web/")) return Static(path.substr(5));
  if (path == "/identify") return IdentifyForm();
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
  if (parts_.grpc_accepting) {
    if (auto s = parts_.grpc_accepting(); !s.ok()) {
      return Text(503, StrCat(s.message(), "\n"), "/readyz");
    }
  }
  return Text(200, "ready\n", "/readyz");
}

Response Gateway::Metrics(const Request& request) const {
  if (!parts_.public_metrics) {
    auto who = parts_.policy->Authenticate(request.authorization);
    if (request.authorization.empty()) {
      who = absl::UnauthenticatedError(
          "metrics: an admin's bearer token is needed (or set "
          "http.public_metrics)");
    }
    if (!who.ok()) return Error(who.status(), "/metrics");
    if (who->role != v1::ROLE_ADMIN) {
      return Error(absl::PermissionDeniedError(StrCat(
                       "metrics: for admins; principal ", who->id, " is not")),
                   "/metrics");
    }
  }
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
  if (parts_.more_metrics) out += parts_.more_metrics();
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

namespace {

// The files the verify page loads: a fixed list, so no request names a
// path on disk.
struct WebFile {
  std::string_view name, path, type;
};
constexpr WebFile kWebFiles[] = {
    {"verify.js", "verify.js", "text/javascript; charset=utf-8"},
    {"trust.js", "trust.js", "text/javascript; charset=utf-8"},
    {"checks.js", "checks.js", "text/javascript; charset=utf-8"},
    {"static_log.js", "static_log.js", "text/javascript; charset=utf-8"},
    {"identify.js", "identify.js", "text/javascript; charset=utf-8"},
    {"three.module.js", "node_modules/three/build/three.module.js",
     "text/javascript; charset=utf-8"},
    {"three.core.js", "node_modules/three/build/three.core.js",
     "text/javascript; charset=utf-8"},
    {"ed25519.js", "node_modules/@noble/ed25519/index.js",
     "text/javascript; charset=utf-8"},
    {"qrcode.mjs", "node_modules/qrcode-generator/dist/qrcode.mjs",
     "text/javascript; charset=utf-8"},
    {"model-viewer.min.js",
     "node_modules/@google/model-viewer/dist/model-viewer.min.js",
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
