// /verify/<certificate id>: the page a buyer reaches from the QR code on a
// printed certificate (/verify/<id>#pin=<hex>, the pin naming the
// registry's first trust root). Verdict first, then the facts, then the log
// inclusion. Rendered on the server from the same reads as the JSON API;
// every value from storage is HTML-escaped. The verdict rendered here is
// the registry's own account, shown as such; the page's script (web/
// verify.js) replaces it with what the browser checked itself.

#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/str_cat.h"
#include "crypto/dsse.h"
#include "crypto/sha256.h"
#include "geometry/jewelry_tables.h"
#include "server/http/evidence_text.h"
#include "server/http/gateway.h"
#include "server/http/responses.h"
#include "server/registry/geometry_summary.h"

namespace loupe::server::http {
namespace {

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Row(std::string_view name, std::string_view value) {
  return StrCat("<tr><th>", Escape(name), "</th><td>", Escape(value),
                "</td></tr>\n");
}

std::string Number(double v, const char* format = "%.2f") {
  char b[64];
  std::snprintf(b, sizeof b, format, v);
  return b;
}

struct Verdict {
  const char* css;    // "ok", "bad", "unknown"
  std::string title;  // "Authentic", "Reported stolen", ...
  std::string detail;
};

Verdict VerdictFor(const absl::StatusOr<v1::Piece>& piece) {
  if (!piece.ok()) return {"unknown", "Unknown", "the piece is not on record"};
  const std::string why = piece->status_reason().empty()
                              ? ""
                              : StrCat(": ", piece->status_reason());
  switch (piece->status()) {
    case v1::PIECE_STATUS_ACTIVE:
      return {"ok", "Authentic",
              "signed by the registry, logged, not revoked, not reported lost "
              "or stolen"};
    case v1::PIECE_STATUS_REVOKED:
      return {"bad", "Revoked", StrCat("the certificate was revoked", why)};
    case v1::PIECE_STATUS_STOLEN:
      return {"bad", "Reported stolen", StrCat("reported stolen", why)};
    case v1::PIECE_STATUS_LOST:
      return {"bad", "Reported lost", StrCat("reported lost", why)};
    case v1::PIECE_STATUS_SUSPENDED:
      return {"bad", "Suspended", StrCat("the certificate is suspended", why)};
    default:
      return {"unknown", "Unknown", "the piece has no status"};
  }
}

// The assay's alloy as the density table names it ("18k rose gold" or
// "18k-rose"), if it is there.
std::optional<geometry::Alloy> AlloyOf(const v1::TwinVersion& v) {
  if (!v.has_assay()) return std::nullopt;
  std::string alloy = v.assay().alloy();
  for (char& c : alloy) c = static_cast<char>(std::tolower(c));
  for (const auto& a : geometry::Alloys()) {
    if (alloy == a.name || alloy == a.label) return a;
  }
  return std::nullopt;
}

std::string History(const v1::ListVersionsResponse& versions,
                    uint32_t certified) {
  std::string t =
      "<h2>History</h2><table class=\"history\"><tr><th>Version</th><th>"
      "Why</th><th>When</th><th>Note</th></tr>\n";
  for (const auto& v : versions.versions()) {
    t += StrCat(
        "<tr", v.number() == certified ? " class=\"certified\"" : "", "><td>",
        v.number(), "</td><td>", Escape(v1::VersionReason_Name(v.reason())),
        "</td><td>",
        Escape(google::protobuf::util::TimeUtil::ToString(v.created_at())),
        "</td><td>", Escape(v.note()), "</td></tr>\n");
  }
  return t + "</table>\n";
}

std::string Facts(const v1::Piece& piece, const v1::TwinVersion& v) {
  std::string t = "<table class=\"facts\">\n";
  t += Row("Studio", piece.studio_id());
  t += Row("Piece", StrCat(piece.title(), " (", piece.id(), ")"));
  t += Row("Studio reference", piece.studio_reference());
  t += Row("Version", StrCat(v.number(), " of ", piece.current_version(), " (",
                             v1::VersionReason_Name(v.reason()), ")"));
  if (v.has_assay()) {
    std::string assay = v.assay().alloy();
    if (v.assay().fineness_per_mille() > 0) {
      assay += StrCat(", ", v.assay().fineness_per_mille(), " ‰");
    }
    const std::string lab = StrCat(
        v.assay().laboratory(),
        v.assay().laboratory().empty() || v.assay().report_id().empty() ? ""
                                                                        : " ",
        v.assay().report_id());
    if (!lab.empty()) assay += StrCat(" (", lab, ")");
    t += Row("Assay", assay);
  }
  for (const auto& h : v.hallmarks()) {
    t += Row("Hallmark", StrCat(h.sponsor_mark(), " · ", h.fineness_mark(),
                                " · ", h.assay_office(), " ", h.date_letter()));
  }
  for (const auto& s : v.stones()) {
    t += Row("Stone",
             StrCat(s.stone_type(), " ", s.shape(), " ", Number(s.carat()),
                    " ct ", s.colour(), " ", s.clarity(), " (", s.laboratory(),
                    " ", s.report_number(), ")"));
  }
  std::string route;
  for (const auto& step : v.production()) {
    if (!route.empty()) route += " → ";
    route += v1::ProductionStepKind_Name(step.kind());
  }
  if (!route.empty()) t += Row("Production route", route);
  if (v.has_ring_size()) {
    t += Row("Ring size",
             StrCat(v.ring_size().value(), " (",
                    v1::RingSizeSystem_Name(v.ring_size().system()), ", ",
                    Number(v.ring_size().inner_diameter_mm()), " mm)"));
  }
  const std::optional<geometry::Alloy> alloy = AlloyOf(v);
  for (const auto& g : v.geometry()) {
    if (alloy.has_value() && g.volume_mm3() > 0) {
      t += Row("Weight (estimated)",
               StrCat(Number(geometry::WeightGrams(g.volume_mm3(), *alloy)),
                      " g of ", alloy->label, " (",
                      Number(alloy->density_g_cm3), " g/cm³ × volume)"));
    }
    t += Row("Geometry",
             StrCat("volume ", Number(g.volume_mm3()), " mm³",
                    g.inner_diameter_mm() > 0
                        ? StrCat(", inner diameter ",
                                 Number(g.inner_diameter_mm()), " mm")
                        : ""));
  }
  return t + "</table>\n";
}

constexpr char kStyle[] =
    "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;"
    "padding:0 1rem;color:#222}.verdict{padding:1rem 1.25rem;border-radius:"
    ".5rem;margin-bottom:1.5rem}.verdict h1{margin:0 0 .25rem}.ok{background:"
    "#e3f6e8;border:2px solid #2e8b57}.bad{background:#fde7e7;border:2px solid"
    " #c0392b}.unknown,.claim{background:#eee;border:2px solid #888}"
    "table{border-collapse:collapse;width:100%}th{text-align:left;width:11rem;"
    "vertical-align:top}th,td{padding:.3rem .4rem;border-bottom:1px solid "
    "#ddd}code{word-break:break-all}#drop{display:block;border:2px dashed "
    "#999;border-radius:.5rem;padding:1rem;margin:.5rem 0}#drop.over{"
    "background:#f4f4ff}canvas{max-width:100%;background:#f7f7f7;border-"
    "radius:.5rem}.small{font-size:.85rem;color:#555}tr.certified{font-weight:"
    "bold}#qr svg{width:10rem;height:10rem}@media print{a{display:none}}";

// The checks the version cites, in plain words, each with its heat-map
// picture if the studio published it (/verify/<id>/heat-map/<sha256>).
std::string Evidence(const v1::TwinVersion& v,
                     std::string_view certificate_id) {
  const auto described = DescribeEvidence(v);
  if (described.empty()) return "";
  std::string out = StrCat("<h2>", Escape(EvidenceHeading()),
                           "</h2><ul class=\"evidence\" id=\"evidence\">\n");
  for (const auto& e : described) {
    out += StrCat("<li>", Escape(e.sentence));
    if (!e.override_note.empty()) {
      out += StrCat("<br><span class=\"small\">", Escape(e.override_note),
                    "</span>");
    }
    if (!e.heat_map_sha256.empty()) {
      out += StrCat("<br><img class=\"heat-map\" alt=\"\" src=\"/verify/",
                    Escape(certificate_id), "/heat-map/",
                    Escape(e.heat_map_sha256), "\">");
    }
    out += "</li>\n";
  }
  return out + "</ul>\n";
}

// A heat-map picture the certified version publishes with a cited check
// (evidence.heat_map_sha256, a PNG asset of the version): public, since
// the studio published it; any other asset stays behind a token.
Response HeatMap(Registry& registry, storage::Store& store,
                 std::string_view certificate_id, std::string_view sha256) {
  const std::string route = "/verify/{id}/heat-map/{sha256}";
  Principal anonymous;
  v1::GetCertificateRequest cr;
  cr.set_certificate_id(std::string(certificate_id));
  auto certificate = registry.GetCertificate(anonymous, cr);
  if (!certificate.ok()) return Error(certificate.status(), route);
  v1::GetVersionRequest vr;
  vr.set_piece_id(certificate->piece_id());
  vr.set_number(certificate->version());
  auto version = registry.GetVersion(anonymous, vr);
  if (!version.ok()) return Error(version.status(), route);
  bool published = false;
  for (const auto& e : version->evidence()) {
    published = published || (!sha256.empty() && e.heat_map_sha256() == sha256);
  }
  for (const auto& a : version->assets()) {
    if (!published || a.sha256() != sha256) continue;
    if (a.media_type() != "image/png" || a.size_bytes() > (8u << 20)) break;
    auto digest = crypto::ParseSha256Hex(a.sha256());
    auto bytes = digest.ok() ? storage::ReadAssetBytes(store, *digest)
                             : absl::StatusOr<std::string>(digest.status());
    if (!bytes.ok()) return Error(bytes.status(), route);
    Response r = Text(200, *std::move(bytes), route);
    r.content_type = "image/png";
    r.headers.push_back({"Cache-Control", kImmutable});
    return r;
  }
  return Text(404, "no heat map published under this certificate\n", route);
}

// JSON for a <script type="application/json"> block: no "<" can close it.
std::string ScriptSafeJson(std::string_view s) {
  const std::string json =
      nlohmann::json(std::string(s))
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  for (char c : json) {
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else {
      out += c;
    }
  }
  return out;
}

bool HasMesh(const v1::TwinVersion& v) {
  for (const auto& a : v.assets()) {
    if (IsMeshAsset(a)) return true;
  }
  return false;
}

// The pin of the registry's first trust root (lower-case hex SHA-256 of its
// payload): what the printable view's QR code links with. Empty if there
// is no root. The page never trusts this value; the link's pin is the
// reader's anchor.
std::string RootPin(const std::vector<std::string>& roots) {
  if (roots.empty()) return "";
  auto envelope = crypto::EnvelopeFromJson(roots.front());
  return envelope.ok() ? crypto::Sha256::HexOf(envelope->payload) : "";
}

// What the browser checks itself (verify.js): the trust roots from the pin,
// the signature, the log proof and witnesses, a dropped file's digest; the
// 3D view; the QR code of the printable view.
std::string BrowserPart(const v1::Certificate& certificate,
                        const absl::StatusOr<v1::TwinVersion>& version,
                        std::string_view pin, bool print) {
  const bool mesh = version.ok() && HasMesh(*version);
  std::string out;
  if (mesh && !print) {
    out +=
        "<h2>The piece</h2><div id=\"view\"><canvas id=\"twin\" "
        "width=\"640\" height=\"400\" aria-label=\"3D view of the piece "
        "(a reduced preview, drag to turn)\"></canvas></div>\n";
  }
  if (print) {
    out +=
        "<div id=\"qr\" aria-label=\"QR code of this page\"></div>"
        "<p class=\"small\">Scan to verify: <span id=\"qr-url\"></span></p>\n";
  } else {
    out +=
        "<h2>Check it yourself</h2><p id=\"anchor-check\" "
        "data-result=\"pending\">Checking the registry's trust root in your "
        "browser…</p><p id=\"signature-check\" data-result=\"pending\">"
        "</p><p id=\"log-check\" data-result=\"pending\"></p><p "
        "id=\"witness-check\" data-result=\"pending\"></p>"
        "<label id=\"drop\" for=\"file\">Drop a scan, CAD "
        "file or photo of this piece here, or choose one: its SHA-256 is "
        "computed on your computer and compared with the certificate (the "
        "file is not sent anywhere). <input type=\"file\" id=\"file\">"
        "</label><p id=\"file-check\" data-result=\"none\"></p>\n"
        "<p><a id=\"print-link\" href=\"?print=1\">Printable certificate "
        "with QR code</a></p>\n";
  }
  out += StrCat(
      "<script type=\"application/json\" id=\"loupe-data\">{"
      "\"certificate_id\":",
      ScriptSafeJson(certificate.id()),
      ",\"piece_id\":", ScriptSafeJson(certificate.piece_id()),
      ",\"version\":", certificate.version(),
      ",\"has_preview\":", mesh ? "true" : "false",
      ",\"print\":", print ? "true" : "false", ",\"pin\":", ScriptSafeJson(pin),
      ",\"bundle\":", ScriptSafeJson(certificate.bundle_json()),
      "}</script>\n<script type=\"module\" src=\"/web/verify.js\"></script>\n");
  return out;
}

}  // namespace

Response Gateway::VerifyPage(std::string_view certificate_id,
                             bool print) const {
  const std::string route = "/verify/{id}";
  if (auto at = certificate_id.find("/heat-map/");
      at != std::string_view::npos) {
    return HeatMap(*parts_.registry, *parts_.store,
                   certificate_id.substr(0, at),
                   certificate_id.substr(at + 10));
  }
  Principal anonymous;
  v1::GetCertificateRequest cr;
  cr.set_certificate_id(std::string(certificate_id));
  cr.set_staple_status(true);  // The browser checks the signed status.
  auto certificate = parts_.registry->GetCertificate(anonymous, cr);
  if (!certificate.ok() && !absl::IsNotFound(certificate.status()) &&
      !absl::IsInvalidArgument(certificate.status())) {
    cr.set_staple_status(false);  // The page still shows; status unchecked.
    certificate = parts_.registry->GetCertificate(anonymous, cr);
  }
  Response r;
  r.route = route;
  r.content_type = "text/html; charset=utf-8";
  r.headers.push_back({"Cache-Control", "no-cache"});
  r.headers.push_back(
      {"Content-Security-Policy",
       "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' "
       "data:; frame-ancestors 'none'"});
  std::string body = StrCat(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width\">"
      "<title>Loupe certificate ",
      Escape(certificate_id), "</title><style>", kStyle,
      "</style></head><body>\n");
  if (!certificate.ok()) {
    r.status = HttpStatusFor(certificate.status().code());
    body += StrCat(
        "<div class=\"verdict unknown\" id=\"verdict\" "
        "data-verdict=\"unknown\">"
        "<h1>Unknown</h1><p>",
        Escape(std::string(certificate.status().message())),
        "</p></div></body></html>\n");
    r.body = std::move(body);
    return r;
  }
  v1::GetPieceRequest pr;
  pr.set_piece_id(certificate->piece_id());
  auto piece = parts_.registry->GetPiece(anonymous, pr);
  const Verdict verdict = VerdictFor(piece);
  // The registry's own account: never green here; verify.js replaces it.
  const std::string_view css =
      std::string_view(verdict.css) == "ok" ? "claim" : verdict.css;
  body += StrCat(
      "<div class=\"verdict ", css, "\" id=\"verdict\" data-verdict=\"",
      verdict.css, "\" data-source=\"server\"><h1>", Escape(verdict.title),
      "</h1><p>", Escape(verdict.detail),
      "</p><p class=\"small\" id=\"verdict-source\">What the registry says "
      "about itself. Your browser is checking it; this verdict is replaced by "
      "what your browser finds.</p><noscript><p class=\"small\">Scripts are "
      "off, so nothing here was checked independently: check the certificate "
      "bundle below with <code>loupe verify</code>.</p></noscript></div>\n");
  v1::GetVersionRequest vr;
  vr.set_piece_id(certificate->piece_id());
  vr.set_number(certificate->version());
  auto version = parts_.registry->GetVersion(anonymous, vr);
  if (piece.ok() && version.ok()) body += Facts(*piece, *version);
  if (version.ok()) body += Evidence(*version, certificate_id);
  v1::ListVersionsRequest lr;
  lr.set_piece_id(certificate->piece_id());
  lr.set_page_size(1000);
  if (auto versions = parts_.registry->ListVersions(anonymous, lr);
      versions.ok() && !print) {
    body += History(*versions, certificate->version());
  }
  body +=
      BrowserPart(*certificate, version, RootPin(parts_.trust_roots), print);
  body += StrCat(
      "<h2>Certificate</h2><table>", Row("Certificate", certificate->id()),
      Row("Issued",
          google::protobuf::util::TimeUtil::ToString(certificate->issued_at())),
      Row("Signing key", certificate->keyid()),
      Row("Transparency log entry", StrCat(certificate->log_index())),
      "</table>\n<p><a href=\"/api/v1/certificates/", Escape(certificate_id),
      "\">The certificate bundle (JSON)</a>, for <code>loupe verify</code> "
      "offline.</p>\n</body></html>\n");
  r.body = std::move(body);
  return r;
}

}  // namespace loupe::server::http
