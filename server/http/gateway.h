#pragma once

// The HTTP gateway's request handler: a pure function of the request and
// the registry's state, with no sockets, so it is tested directly
// (gateway_test.cc) and served by HttpServer. Routes (docs/api.md, "HTTP"):
//   GET /healthz, /readyz, /metrics (admins only unless public_metrics)
//   GET /checkpoint, /tile/<L>/<N>[.p/<W>], /tile/entries/<N>[.p/<W>]
//   GET /api/v1/...   read-only JSON (protobuf's JSON mapping) mirroring
//                     the gRPC reads, with the same access rules; and
//                     /api/v1/assets/{sha256}?piece_id= (a token with
//                     read access), /api/v1/trust-root,
//                     /api/v1/pieces/{id}/versions/ {n}/preview (a decimated
//                     mesh, preview.h) and .../preview.glb (the same as
//                     glTF binary, glb.h)
//   GET /verify/<certificate id>[/01/<GTIN>/21/<serial>], /web/<file>
//       the verify page (in the reader's language: ?lang=, Accept-Language)
//   POST /api/v1/identify?file_name=&tolerance_mm=  IdentifyPiece for
//       callers with a token (identify_route.cc); GET /identify, its form
// HEAD is answered like GET without the body; anything else is 405.
//
// Thread-safe: Handle() may run on many threads at once.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "server/http/handler.h"
#include "server/http/metrics.h"
#include "server/http/preview.h"
#include "server/log/transparency_log.h"
#include "server/policy/access_policy.h"
#include "server/registry/registry.h"
#include "server/registry/worker_pool.h"
#include "server/storage/store.h"

namespace loupe::server::http {

// Largest asset served whole over HTTP; larger ones go through the
// streaming gRPC DownloadAsset (loupe asset get).
inline constexpr uint64_t kMaxHttpAssetBytes = 64 << 20;
// Scans identified over HTTP at once (each held in memory whole); more
// are refused 503 before their bytes are read. A scan's upload may take
// this long.
inline constexpr int kMaxHttpIdentifications = 2;
inline constexpr uint64_t kIdentifyUploadMs = 600'000;

class Gateway : public Handler {
 public:
  // Nothing is owned; all must outlive the Gateway. `log` may be null (no
  // signing key): then the log routes answer 503.
  struct Parts {
    Registry* registry = nullptr;
    TransparencyLog* log = nullptr;
    storage::Store* store = nullptr;
    const AccessPolicy* policy = nullptr;
    Metrics* metrics = nullptr;
    std::string data_dir;  // For the storage size in /metrics.
    std::string web_dir;   // The verify page's static files; may be empty.
    // The trust roots (DSSE envelopes, JSON), oldest first; may be empty.
    std::vector<std::string> trust_roots;
    PreviewCache* previews = nullptr;  // May be null: no 3D previews.
    // OK while the gRPC server admits new connections, else why not: then
    // /readyz is 503 with the reason. May be empty (not checked).
    std::function<absl::Status()> grpc_accepting;
    // More Prometheus text for /metrics (the connection gauges); may be
    // empty.
    std::function<std::string()> more_metrics;
    // http.public_metrics: /metrics for anyone, else for admins only.
    bool public_metrics = false;
    // Where identifications (POST /api/v1/identify) run; null: not served
    // over HTTP.
    WorkerPool* identify_pool = nullptr;
  };
  explicit Gateway(Parts parts) : parts_(std::move(parts)) {}

  // Blocks until answered (HandleAsync): for tests and tools.
  [[nodiscard]] Response Handle(const Request& request) const override;
  // Answers on this thread, except previews (preview.h): their answer comes
  // from a preview thread once drawn, so no I/O thread waits for one.
  void HandleAsync(const Request& request, Done done) const override;
  // POST /api/v1/identify: the caller (a token), the header and a slot,
  // before the scan is read; other requests get the configured limits.
  [[nodiscard]] BodyAdmission AdmitBody(const Request& head) const override;

  // /readyz answers 503 once draining (shutdown has begun), while the log
  // refuses to serve, and while gRPC admits no new connections.
  void SetDraining() { draining_ = true; }

 private:
  [[nodiscard]] Response Route(const Request& request) const;
  // /api/v1/<path>: looked up in a table of routes (gateway_api.cc).
  [[nodiscard]] Response Api(const Request& request, std::string_view path,
                             std::string_view query) const;
  struct ApiCall;
  class ApiRoutes;
  [[nodiscard]] Response Tile(std::string_view path) const;
  [[nodiscard]] Response Metrics(const Request& request) const;
  [[nodiscard]] Response Ready() const;
  [[nodiscard]] Response Static(std::string_view name) const;
  // /verify/<rest>: `rest` is the certificate id, or the id and a GS1
  // Digital Link path ("<id>/01/<GTIN-14>/21/<serial>").
  [[nodiscard]] Response VerifyPage(const Request& request,
                                    std::string_view rest,
                                    std::string_view query) const;
  struct PreviewPath {
    std::string piece_id, number;
    bool glb = false;  // .../preview.glb: glTF binary for AR viewers.
  };
  // The preview route's parts if `request` is for one (checked like Route's
  // paths: plain segments only), else nullopt.
  [[nodiscard]] static std::optional<PreviewPath> PreviewTarget(
      const Request& request);
  void PreviewAsync(const Request& request, const PreviewPath& target,
                    Done done) const;
  // Answers POST /api/v1/identify (admitted by AdmitBody) from the worker
  // pool; false for any other request.
  bool IdentifyAsync(const Request& request, const Done& done) const;
  [[nodiscard]] Response IdentifyForm() const;
  // The API caller (anonymous without a token) admitted under its rate, or
  // the refusal (401, 429).
  [[nodiscard]] std::variant<Principal, Response> Caller(
      const Request& request) const;
  [[nodiscard]] Response Asset(const Principal& who, const std::string& sha256,
                               const std::string& piece_id) const;
  [[nodiscard]] Response Certificate(const Principal& who,
                                     const v1::GetCertificateRequest& r) const;

  Parts parts_;
  std::atomic<bool> draining_{false};
  // Identifications admitted over HTTP and not yet answered (shared with
  // the holds AdmitBody hands out, which may outlive a request).
  std::shared_ptr<std::atomic<int>> identifying_ =
      std::make_shared<std::atomic<int>>(0);
  // Certificate JSON by id, with the log size and the log's cosignature
  // generation it was made at.
  mutable std::mutex certificate_mu_;
  mutable std::unordered_map<std::string,
                             std::pair<std::pair<uint64_t, uint64_t>,
                                       std::shared_ptr<const std::string>>>
      certificate_json_;
};

// The HTTP status for an absl status code (what the caller should do next:
// 400 fix the request, 401 authenticate, 403 ask for access, 404, 409, 429
// slow down, 503 retry, 500 otherwise).
[[nodiscard]] int HttpStatusFor(absl::StatusCode code);

}  // namespace loupe::server::http
