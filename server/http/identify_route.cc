// POST /api/v1/identify: IdentifyPiece over HTTP for authenticated callers
// (the form at /identify sends the scan from a browser). The caller, the
// header and a slot are admitted from the request's head, before the scan
// is read (AdmitBody): an anonymous caller, a bad header, a spent
// identification rate or a full house are refused before their bytes
// arrive. The identification then runs on the worker pool, never on an I/O
// thread.
#include <cstdlib>
#include <string>

#include "base/str_cat.h"
#include "server/http/gateway.h"
#include "server/http/responses.h"
#include "server/registry/identification.h"

namespace loupe::server::http {
namespace {

constexpr char kRoute[] = "/api/v1/identify";

bool IsIdentify(const Request& request) {
  if (request.method != "POST") return false;
  const std::string_view target = request.target;
  return target.substr(0, target.find('?')) == kRoute;
}

// The IdentifyPiece header the query and Content-Length state:
// ?file_name=scan.stl[&tolerance_mm=0.1]; INVALID_ARGUMENT naming the
// field.
absl::StatusOr<v1::IdentifyPieceHeader> HeaderOf(const Request& request) {
  const std::string_view target = request.target;
  const size_t q = target.find('?');
  const std::string_view query =
      q == std::string_view::npos ? "" : target.substr(q + 1);
  v1::IdentifyPieceHeader header;
  const std::string_view name = QueryValue(query, "file_name");
  if (name.empty() || !PlainSegment(name)) {
    return absl::InvalidArgumentError(
        "file_name: the scan's file name, e.g. ?file_name=ring.stl (letters, "
        "digits, _ - .)");
  }
  header.set_file_name(std::string(name));
  if (const std::string tolerance(QueryValue(query, "tolerance_mm"));
      !tolerance.empty()) {
    char* end = nullptr;
    const double mm = std::strtod(tolerance.c_str(), &end);
    if (end != tolerance.c_str() + tolerance.size()) {
      return absl::InvalidArgumentError(
          StrCat("tolerance_mm: \"", tolerance.substr(0, 20),
                 "\" is not a number of millimetres"));
    }
    header.set_tolerance_mm(mm);
  }
  if (!request.content_length) {
    return absl::InvalidArgumentError(
        "Content-Length: the scan's size is needed before it is sent");
  }
  header.set_size_bytes(*request.content_length);
  return header;
}

}  // namespace

BodyAdmission Gateway::AdmitBody(const Request& head) const {
  if (!IsIdentify(head)) return {};
  auto refuse = [](const absl::Status& s) {
    BodyAdmission a;
    a.refusal = Error(s, kRoute);
    return a;
  };
  if (parts_.identify_pool == nullptr) {
    return refuse(absl::UnimplementedError(
        "identification is not served over HTTP here (use loupe identify)"));
  }
  if (head.authorization.empty()) {
    return refuse(absl::UnauthenticatedError(
        "authorization: identification needs a token (Authorization: Bearer "
        "...)"));
  }
  auto caller = Caller(head);
  if (auto* refusal = std::get_if<Response>(&caller)) {
    BodyAdmission a;
    a.refusal = *refusal;
    return a;
  }
  const Principal& who = std::get<Principal>(caller);
  auto header = HeaderOf(head);
  if (!header.ok()) return refuse(header.status());
  if (auto s = parts_.registry->BeginIdentification(who, *header); !s.ok()) {
    return refuse(s);
  }
  if (identifying_->fetch_add(1) >= kMaxHttpIdentifications) {
    identifying_->fetch_sub(1);
    BodyAdmission a = refuse(absl::UnavailableError(
        StrCat("identification: ", kMaxHttpIdentifications,
               " scans are being identified over HTTP; try again in a "
               "minute (or use loupe identify)")));
    a.refusal->headers.push_back({"Retry-After", "30"});
    return a;
  }
  BodyAdmission a;
  a.max_body_bytes = header->size_bytes();
  a.read_timeout_ms = kIdentifyUploadMs;
  a.hold = std::shared_ptr<void>(
      nullptr, [count = identifying_](void*) { count->fetch_sub(1); });
  return a;
}

bool Gateway::IdentifyAsync(const Request& request, const Done& done) const {
  if (!IsIdentify(request)) return false;
  // Admitted from the head (AdmitBody: the rates are spent there), so the
  // caller is only named here.
  auto who = parts_.policy->Authenticate(request.authorization);
  if (request.authorization.empty() || !who.ok()) {
    done(Error(absl::UnauthenticatedError(
                   "authorization: identification needs a token"),
               kRoute));
    return true;
  }
  auto header = HeaderOf(request);
  if (!header.ok()) {
    done(Error(header.status(), kRoute));
    return true;
  }
  if (request.body.size() != header->size_bytes()) {
    done(Error(
        absl::InvalidArgumentError(StrCat(
            "body: ", request.body.size(),
            " bytes arrived; Content-Length said ", header->size_bytes())),
        kRoute));
    return true;
  }
  if (parts_.identify_pool == nullptr) {
    done(Error(absl::UnimplementedError("identification is not served here"),
               kRoute));
    return true;
  }
  parts_.identify_pool->Submit([this, who = *std::move(who),
                                header = *std::move(header),
                                scan = request.body, done] {
    done(JsonOr(parts_.registry->FinishIdentification(who, header, scan),
                kRoute));
  });
  return true;
}

Response Gateway::IdentifyForm() const {
  Response r = Text(200, R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Identify a piece from a scan - Loupe</title>
<style>
body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
label{display:block;margin:.8rem 0 .2rem}input{font-size:1rem}
.alert{background:#b00020;color:#fff;padding:.8rem;font-weight:bold;font-size:1.2rem}
.verdict{font-size:1.3rem;font-weight:bold;margin:1rem 0}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:.3rem;text-align:left}
.error{color:#b00020}
</style></head><body>
<h1>Identify a piece from a scan</h1>
<p>For registered studios, insurers and investigators: the scan is compared
with every registered ring. The answer names a piece only with its evidence,
and says first if a candidate is reported lost or stolen. Your token stays in
this page; it is sent only to this registry.</p>
<form id="identify">
<label for="token">Your access token</label>
<input id="token" type="password" autocomplete="off" required size="40">
<label for="scan">Scan (STL, OBJ, PLY, STEP or 3MF)</label>
<input id="scan" type="file" accept=".stl,.obj,.ply,.step,.stp,.3mf" required>
<label for="tolerance">Tolerance (mm)</label>
<input id="tolerance" type="number" min="0.01" max="1" step="0.01" value="0.1">
<p><button type="submit">Identify</button></p>
</form>
<div id="progress" role="status"></div>
<div id="answer"></div>
<script type="module" src="/web/identify.js"></script>
</body></html>
)",
                    "/identify");
  r.content_type = "text/html; charset=utf-8";
  r.headers.push_back(
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
       "connect-src 'self'; form-action 'none'; frame-ancestors 'none'"});
  r.headers.push_back({"Cache-Control", "no-cache"});
  return r;
}

}  // namespace loupe::server::http
