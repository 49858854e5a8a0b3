// /verify/<certificate id>: the page a buyer reaches from the QR code on a
// printed certificate (/verify/<id>#pin=<hex>, the pin naming the
// registry's first trust root; with a GTIN and serial the QR code is a GS1
// Digital Link, /verify/<id>/01/<GTIN-14>/21/<serial>#pin=<hex>). Verdict
// first, then the facts in the reader's words (buyer_facts.h, i18n.h: the
// language from ?lang= or Accept-Language, with a switch on the page), the
// 3D view and "view in your space" (a GLB in <model-viewer>), then the log
// inclusion. Rendered on the server from the same reads as the JSON API;
// every value from storage is HTML-escaped. The verdict rendered here is
// the registry's own account, shown as such; the page's script (web/
// verify.js) replaces it with what the browser checked itself.

#include <google/protobuf/util/time_util.h>

#include <nlohmann/json.hpp>

#include "base/gs1.h"
#include "base/str_cat.h"
#include "crypto/dsse.h"
#include "crypto/sha256.h"
#include "geometry/jewelry_tables.h"
#include "server/http/buyer_facts.h"
#include "server/http/evidence_text.h"
#include "server/http/gateway.h"
#include "server/http/i18n.h"
#include "server/http/responses.h"
#include "server/registry/geometry_summary.h"

namespace loupe::server::http {
namespace {

struct Verdict {
  const char* css;  // "ok", "bad", "unknown"
  std::string key;  // "verdict.active", ...: the title; key + ".detail".
};

Verdict VerdictFor(const absl::StatusOr<v1::Piece>& piece) {
  if (!piece.ok()) return {"unknown", "verdict.unknown"};
  switch (piece->status()) {
    case v1::PIECE_STATUS_ACTIVE:
      return {"ok", "verdict.active"};
    case v1::PIECE_STATUS_REVOKED:
      return {"bad", "verdict.revoked"};
    case v1::PIECE_STATUS_STOLEN:
      return {"bad", "verdict.stolen"};
    case v1::PIECE_STATUS_LOST:
      return {"bad", "verdict.lost"};
    case v1::PIECE_STATUS_SUSPENDED:
      return {"bad", "verdict.suspended"};
    default:
      return {"unknown", "verdict.unknown"};
  }
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
    "bold}#qr svg{width:10rem;height:10rem}@media print{a,nav{display:none}}"
    "nav.langs{text-align:right;font-size:.9rem;margin-bottom:.5rem}"
    "nav.langs a{margin-left:.6rem}"
    "nav.langs a[aria-current]{font-weight:bold;text-decoration:none}"
    "model-viewer{width:100%;height:22rem;background:#f7f7f7;border-radius:"
    ".5rem}model-viewer button{position:absolute;bottom:.75rem;left:50%;"
    "transform:translateX(-50%);padding:.5rem 1rem;border-radius:1rem;"
    "border:1px solid #888;background:#fff}";

// The checks the version cites, in plain words, each with its heat-map
// picture if the studio published it (/verify/<id>/heat-map/<sha256>).
std::string Evidence(const Catalogue& c, const v1::TwinVersion& v,
                     std::string_view certificate_id) {
  const auto described = DescribeEvidence(c, v);
  if (described.empty()) return "";
  std::string out = StrCat("<h2>", HtmlEscape(c.T("evidence.heading")),
                           "</h2><ul class=\"evidence\" id=\"evidence\">\n");
  for (const auto& e : described) {
    out += StrCat("<li>", HtmlEscape(e.sentence));
    if (!e.override_note.empty()) {
      out += StrCat("<br><span class=\"small\">", HtmlEscape(e.override_note),
                    "</span>");
    }
    if (!e.heat_map_sha256.empty()) {
      out += StrCat("<br><img class=\"heat-map\" alt=\"\" src=\"/verify/",
                    HtmlEscape(certificate_id), "/heat-map/",
                    HtmlEscape(e.heat_map_sha256), "\">");
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

// JSON text made safe for a <script type="application/json"> block: no
// "<" can close it.
std::string ScriptSafe(const nlohmann::json& value) {
  const std::string json =
      value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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

std::string ScriptSafeJson(std::string_view s) {
  return ScriptSafe(nlohmann::json(std::string(s)));
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

// The links of the language switch: each language in its own name, the
// current one marked. verify.js adds the pin (the link's #fragment).
std::string LanguageSwitch(const Catalogue& c, bool print) {
  std::string out = StrCat("<nav class=\"langs\" aria-label=\"",
                           HtmlEscape(c.T("lang.switch")), "\">");
  for (const auto& lang : Languages()) {
    const Catalogue& other = Catalogue::For(lang);
    out += StrCat("<a data-keep-pin href=\"?", print ? "print=1&amp;" : "",
                  "lang=", lang, "\" hreflang=\"", lang, "\" lang=\"", lang,
                  "\"", lang == c.lang() ? " aria-current=\"page\"" : "", ">",
                  HtmlEscape(other.T("lang.name")), "</a>");
  }
  return out + "</nav>\n";
}

// The 3D view (three.js, verify.js) and "view in your space": the same
// decimated preview as GLB in <model-viewer>, which offers AR on phones
// (WebXR, Android's Scene Viewer, iOS Quick Look) at the piece's real size.
std::string ViewPart(const Catalogue& c, const v1::Certificate& certificate) {
  const std::string glb =
      StrCat("/api/v1/pieces/", HtmlEscape(certificate.piece_id()),
             "/versions/", certificate.version(), "/preview.glb");
  return StrCat(
      "<h2>", HtmlEscape(c.T("view.title")),
      "</h2><div id=\"view\"><canvas id=\"twin\" width=\"640\" height=\"400\" "
      "aria-label=\"",
      HtmlEscape(c.T("view.canvas_label")), "\"></canvas></div>\n<h2>",
      HtmlEscape(c.T("ar.title")), "</h2><p class=\"small\">",
      HtmlEscape(c.T("ar.hint")), "</p><model-viewer id=\"ar\" src=\"", glb,
      "\" alt=\"", HtmlEscape(c.T("ar.label")),
      "\" loading=\"eager\" ar ar-modes=\"webxr scene-viewer quick-look\" "
      "ar-scale=\"fixed\" "
      "camera-controls touch-action=\"pan-y\" shadow-intensity=\"1\">"
      "<button slot=\"ar-button\">",
      HtmlEscape(c.T("ar.button")),
      "</button></model-viewer>\n<script type=\"module\" "
      "src=\"/web/model-viewer.min.js\"></script>\n");
}

// What the browser checks itself (verify.js): the trust roots from the pin,
// the signature, the log proof and witnesses, a dropped file's digest; the
// 3D views; the QR code of the printable view (a GS1 Digital Link when the
// piece has a GTIN and serial).
std::string BrowserPart(const Catalogue& c, const Locale& locale,
                        const v1::Certificate& certificate,
                        const absl::StatusOr<v1::Piece>& piece,
                        const absl::StatusOr<v1::TwinVersion>& version,
                        std::string_view pin, bool print) {
  const bool mesh = version.ok() && HasMesh(*version);
  std::string gs1;
  if (piece.ok() && !piece->gtin().empty() && !piece->serial().empty()) {
    gs1 = Gs1DigitalLinkPath(piece->gtin(), piece->serial());
  }
  std::string out;
  if (mesh && !print) out += ViewPart(c, certificate);
  if (print) {
    out += StrCat("<div id=\"qr\" aria-label=\"", HtmlEscape(c.T("qr.label")),
                  "\"></div><p class=\"small\">", HtmlEscape(c.T("qr.scan")),
                  " <span id=\"qr-url\"></span></p>\n");
    if (!gs1.empty()) {
      out += StrCat("<p class=\"small\" id=\"qr-gs1\">",
                    HtmlEscape(c.T("qr.gs1", {{"gtin", piece->gtin()},
                                              {"serial", piece->serial()}})),
                    "</p>\n");
    }
  } else {
    out += StrCat(
        "<h2>", HtmlEscape(c.T("check.title")),
        "</h2><p id=\"anchor-check\" data-result=\"pending\">",
        HtmlEscape(c.T("check.pending")),
        "</p><p id=\"signature-check\" data-result=\"pending\"></p><p "
        "id=\"log-check\" data-result=\"pending\"></p><p id=\"witness-check\" "
        "data-result=\"pending\"></p><label id=\"drop\" for=\"file\">",
        HtmlEscape(c.T("drop.label")),
        " <input type=\"file\" id=\"file\"></label><p id=\"file-check\" "
        "data-result=\"none\"></p>\n<p><a id=\"print-link\" data-keep-pin "
        "href=\"?print=1&amp;lang=",
        c.lang(), "\">", HtmlEscape(c.T("print.link")), "</a></p>\n");
  }
  nlohmann::json strings = nlohmann::json::object();
  for (const auto& [key, text] : c.strings()) strings[key] = text;
  out += StrCat(
      "<script type=\"application/json\" id=\"loupe-data\">{"
      "\"certificate_id\":",
      ScriptSafeJson(certificate.id()),
      ",\"piece_id\":", ScriptSafeJson(certificate.piece_id()),
      ",\"version\":", certificate.version(),
      ",\"has_preview\":", mesh ? "true" : "false",
      ",\"print\":", print ? "true" : "false", ",\"pin\":", ScriptSafeJson(pin),
      ",\"gs1_path\":", ScriptSafeJson(gs1),
      ",\"lang\":", ScriptSafeJson(c.lang()),
      ",\"locale\":", ScriptSafeJson(locale.tag),
      ",\"strings\":", ScriptSafe(strings),
      ",\"bundle\":", ScriptSafeJson(certificate.bundle_json()),
      "}</script>\n<script type=\"module\" src=\"/web/verify.js\"></script>\n");
  return out;
}

std::string Head(const Catalogue& c, const Locale& locale,
                 std::string_view certificate_id) {
  return StrCat(
      "<!doctype html>\n<html lang=\"", HtmlEscape(locale.tag),
      "\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width\"><title>",
      HtmlEscape(c.T("page.title", {{"id", std::string(certificate_id)}})),
      "</title><style>", kStyle, "</style></head><body>\n");
}

}  // namespace

Response Gateway::VerifyPage(const Request& request, std::string_view rest,
                             std::string_view query) const {
  const std::string route = "/verify/{id}";
  // /verify/<id> or /verify/<id>/01/<GTIN-14>/21/<serial> (GS1 Digital
  // Link; checked against the piece below).
  const size_t slash = rest.find('/');
  const std::string_view certificate_id = rest.substr(0, slash);
  const std::string_view gs1_link =
      slash == std::string_view::npos ? "" : rest.substr(slash);
  const bool print = QueryValue(query, "print") == "1";
  const Locale locale =
      NegotiateLocale(request.accept_language, QueryValue(query, "lang"));
  const Catalogue& c = Catalogue::For(locale.lang);
  if (gs1_link.starts_with("/heat-map/")) {
    return HeatMap(*parts_.registry, *parts_.store, certificate_id,
                   gs1_link.substr(10));
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
  v1::GetPieceRequest pr;
  absl::StatusOr<v1::Piece> piece = absl::NotFoundError("no certificate");
  if (certificate.ok()) {
    pr.set_piece_id(certificate->piece_id());
    piece = parts_.registry->GetPiece(anonymous, pr);
    if (!gs1_link.empty() &&
        (!piece.ok() || piece->gtin().empty() || piece->serial().empty() ||
         gs1_link != Gs1DigitalLinkPath(piece->gtin(), piece->serial()))) {
      certificate = absl::NotFoundError(
          StrCat("the GTIN and serial number in this link (", gs1_link,
                 ") are not those of the certified piece"));
    }
  }
  Response r;
  r.route = route;
  r.content_type = "text/html; charset=utf-8";
  r.headers.push_back({"Cache-Control", "no-cache"});
  r.headers.push_back({"Vary", "Accept-Language"});
  r.headers.push_back({"Content-Language", locale.lang});
  // model-viewer draws its environment and AR files from blob: URLs.
  r.headers.push_back(
      {"Content-Security-Policy",
       "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' "
       "data: blob:; connect-src 'self' data: blob:; worker-src 'self' blob:; "
       "frame-ancestors 'none'"});
  std::string body = Head(c, locale, certificate_id);
  if (!certificate.ok()) {
    r.status = HttpStatusFor(certificate.status().code());
    body +=
        StrCat(LanguageSwitch(c, false),
               "<div class=\"verdict unknown\" id=\"verdict\" "
               "data-verdict=\"unknown\"><h1>",
               HtmlEscape(c.T("verdict.unknown")), "</h1><p>",
               HtmlEscape(c.T(
                   "page.not_found",
                   {{"problem", std::string(certificate.status().message())}})),
               "</p></div></body></html>\n");
    r.body = std::move(body);
    return r;
  }
  const Verdict verdict = VerdictFor(piece);
  // The registry's own account: never green here; verify.js replaces it.
  const std::string_view css =
      std::string_view(verdict.css) == "ok" ? "claim" : verdict.css;
  std::string reason;
  if (piece.ok() && !piece->status_reason().empty() &&
      piece->status() != v1::PIECE_STATUS_ACTIVE) {
    reason = StrCat(" ", HtmlEscape(c.T("verdict.reason",
                                        {{"reason", piece->status_reason()}})));
  }
  body +=
      StrCat(LanguageSwitch(c, print), "<div class=\"verdict ", css,
             "\" id=\"verdict\" data-verdict=\"", verdict.css,
             "\" data-source=\"server\"><h1>", HtmlEscape(c.T(verdict.key)),
             "</h1><p>", HtmlEscape(c.T(StrCat(verdict.key, ".detail"))),
             reason, "</p><p class=\"small\" id=\"verdict-source\">",
             HtmlEscape(c.T("verdict.server_note")),
             "</p><noscript><p class=\"small\">",
             HtmlEscape(c.T("verdict.noscript")), "</p></noscript></div>\n");
  v1::GetVersionRequest vr;
  vr.set_piece_id(certificate->piece_id());
  vr.set_number(certificate->version());
  auto version = parts_.registry->GetVersion(anonymous, vr);
  if (piece.ok() && version.ok()) {
    body += FactsHtml(c, locale, *piece, *version);
  }
  if (version.ok()) body += Evidence(c, *version, certificate_id);
  v1::ListVersionsRequest lr;
  lr.set_piece_id(certificate->piece_id());
  lr.set_page_size(1000);
  if (auto versions = parts_.registry->ListVersions(anonymous, lr);
      versions.ok() && !print) {
    body += HistoryHtml(c, *versions, certificate->version());
  }
  body += BrowserPart(c, locale, *certificate, piece, version,
                      RootPin(parts_.trust_roots), print);
  auto row = [&](std::string_view key, std::string_view html) {
    return StrCat("<tr><th>", HtmlEscape(c.T(key)), "</th><td>", html,
                  "</td></tr>\n");
  };
  body += StrCat("<h2>", HtmlEscape(c.T("cert.title")), "</h2><table>",
                 row("cert.id", HtmlEscape(certificate->id())),
                 row("cert.issued", TimeHtml(certificate->issued_at())),
                 row("cert.key", HtmlEscape(certificate->keyid())),
                 row("cert.log", StrCat(certificate->log_index())),
                 "</table>\n<p><a href=\"/api/v1/certificates/",
                 HtmlEscape(certificate_id), "\">",
                 HtmlEscape(c.T("cert.bundle")), "</a></p>\n</body></html>\n");
  r.body = std::move(body);
  return r;
}

}  // namespace loupe::server::http
