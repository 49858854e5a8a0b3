#include "server/registry/validate.h"

#include <cstdio>
#include <optional>
#include <set>
#include <string>

#include "base/gs1.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "base/utf8.h"
#include "crypto/sha256.h"

namespace loupe::server {
namespace {

absl::Status Invalid(std::string_view field, std::string_view problem) {
  return absl::InvalidArgumentError(StrCat(field, ": ", problem));
}

// Printable text: no control characters (so no NUL), at most `max` bytes.
absl::Status CheckText(std::string_view field, std::string_view value,
                       size_t max, bool required) {
  if (required && value.empty()) return Invalid(field, "required");
  if (value.size() > max) {
    return Invalid(field, StrCat("longer than ", max, " bytes"));
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return Invalid(field, "contains a control character");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSha(std::string_view field, std::string_view hex) {
  if (!crypto::IsSha256Hex(hex)) {
    return Invalid(field, "must be 64 lower-case hexadecimal characters");
  }
  return absl::OkStatus();
}

absl::Status CheckDate(std::string_view field, std::string_view date) {
  if (date.empty()) return absl::OkStatus();
  bool ok = date.size() == 10 && date[4] == '-' && date[7] == '-';
  for (size_t i = 0; ok && i < date.size(); ++i) {
    if (i != 4 && i != 7) ok = date[i] >= '0' && date[i] <= '9';
  }
  return ok ? absl::OkStatus() : Invalid(field, "must be a date YYYY-MM-DD");
}

absl::Status CheckRange(std::string_view field, double v, double lo,
                        double hi) {
  if (!(v >= lo && v <= hi)) {  // Also rejects NaN.
    return Invalid(field, StrCat("must be between ", lo, " and ", hi));
  }
  return absl::OkStatus();
}

absl::Status CheckAsset(const std::string& f, const v1::AssetRef& a) {
  if (a.role() == v1::ASSET_ROLE_UNSPECIFIED ||
      !v1::AssetRole_IsValid(a.role())) {
    return Invalid(f + ".role", "required");
  }
  RETURN_IF_ERROR(CheckText(f + ".file_name", a.file_name(), 255, true));
  if (a.file_name().find_first_of("/\\") != std::string::npos ||
      a.file_name() == "." || a.file_name() == "..") {
    return Invalid(f + ".file_name",
                   "must be a base name, without '/' or '\\'");
  }
  RETURN_IF_ERROR(CheckText(f + ".media_type", a.media_type(), 127, false));
  return CheckSha(f + ".sha256", a.sha256());
}

absl::Status CheckAssay(const v1::Assay& a) {
  RETURN_IF_ERROR(CheckText("version.assay.alloy", a.alloy(), 128, false));
  if (a.fineness_per_mille() > 1000) {
    return Invalid("version.assay.fineness_per_mille", "at most 1000");
  }
  double total = 0;
  for (const auto& [element, fraction] : a.composition()) {
    const std::string f = StrCat("version.assay.composition[", element, "]");
    RETURN_IF_ERROR(CheckText(f, element, 8, true));
    RETURN_IF_ERROR(CheckRange(f, fraction, 0.0, 1.0));
    total += fraction;
  }
  if (total > 1.0 + 1e-6) {
    return Invalid("version.assay.composition", "mass fractions exceed 1");
  }
  RETURN_IF_ERROR(
      CheckText("version.assay.laboratory", a.laboratory(), 128, false));
  RETURN_IF_ERROR(
      CheckText("version.assay.report_id", a.report_id(), 128, false));
  return CheckDate("version.assay.date", a.date());
}

absl::Status CheckStone(const std::string& f, const v1::StoneReport& s) {
  for (const auto& [name, value] :
       {std::pair{".laboratory", &s.laboratory()},
        {".report_number", &s.report_number()},
        {".stone_type", &s.stone_type()},
        {".shape", &s.shape()},
        {".colour", &s.colour()},
        {".clarity", &s.clarity()},
        {".girdle_inscription", &s.girdle_inscription()},
        {".position", &s.position()}}) {
    RETURN_IF_ERROR(CheckText(f + name, *value, 256, false));
  }
  RETURN_IF_ERROR(CheckRange(f + ".carat", s.carat(), 0, 10000));
  const auto& m = s.measurements();
  RETURN_IF_ERROR(CheckRange(f + ".measurements.min_mm", m.min_mm(), 0, 1000));
  RETURN_IF_ERROR(CheckRange(f + ".measurements.max_mm", m.max_mm(), 0, 1000));
  return CheckRange(f + ".measurements.depth_mm", m.depth_mm(), 0, 1000);
}

absl::Status CheckLinked(const std::string& f, const std::string& sha,
                         const std::set<std::string>& assets) {
  RETURN_IF_ERROR(CheckSha(f, sha));
  if (!assets.contains(sha)) {
    return Invalid(f, "not one of this version's assets");
  }
  return absl::OkStatus();
}

absl::Status CheckProduction(const v1::TwinVersion& v,
                             const std::set<std::string>& assets) {
  for (int i = 0; i < v.production_size(); ++i) {
    const auto& step = v.production(i);
    const std::string f = StrCat("version.production[", i, "]");
    if (step.kind() == v1::PRODUCTION_STEP_KIND_UNSPECIFIED ||
        !v1::ProductionStepKind_IsValid(step.kind())) {
      return Invalid(f + ".kind", "required");
    }
    RETURN_IF_ERROR(CheckText(f + ".actor", step.actor(), 256, false));
    RETURN_IF_ERROR(CheckText(f + ".note", step.note(), 4096, false));
    for (const auto& [key, value] : step.parameters()) {
      const std::string pf = StrCat(f, ".parameters[", key, "]");
      RETURN_IF_ERROR(CheckText(pf, key, 128, true));
      RETURN_IF_ERROR(CheckText(pf, value, 1024, false));
    }
    for (int j = 0; j < step.asset_sha256_size(); ++j) {
      RETURN_IF_ERROR(CheckLinked(StrCat(f, ".asset_sha256[", j, "]"),
                                  step.asset_sha256(j), assets));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckToleranceAndSize(const v1::TwinVersion& v) {
  for (int i = 0; i < v.tolerance().items_size(); ++i) {
    const auto& item = v.tolerance().items(i);
    const std::string f = StrCat("version.tolerance.items[", i, "]");
    if (!v1::ProductionStepKind_IsValid(item.step())) {
      return Invalid(f + ".step", "unknown step kind");
    }
    RETURN_IF_ERROR(CheckText(f + ".dimension", item.dimension(), 128, false));
    RETURN_IF_ERROR(CheckRange(f + ".expected_change_percent",
                               item.expected_change_percent(), -100, 100));
    RETURN_IF_ERROR(CheckRange(f + ".compensation_percent",
                               item.compensation_percent(), -100, 100));
    RETURN_IF_ERROR(
        CheckRange(f + ".tolerance_mm", item.tolerance_mm(), 0, 100));
  }
  RETURN_IF_ERROR(CheckText("version.tolerance.summary",
                            v.tolerance().summary(), 4096, false));
  const auto& size = v.ring_size();
  if (!v1::RingSizeSystem_IsValid(size.system())) {
    return Invalid("version.ring_size.system", "unknown system");
  }
  if (size.system() != v1::RING_SIZE_SYSTEM_UNSPECIFIED &&
      size.value().empty()) {
    return Invalid("version.ring_size.value", "required when system is set");
  }
  RETURN_IF_ERROR(
      CheckText("version.ring_size.value", size.value(), 32, false));
  if (size.inner_diameter_mm() != 0) {
    RETURN_IF_ERROR(CheckRange("version.ring_size.inner_diameter_mm",
                               size.inner_diameter_mm(), 5, 40));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidatePieceId(std::string_view field, std::string_view id) {
  if (id.empty()) return Invalid(field, "required");
  bool ok = id.size() == 29 && id.substr(0, 3) == "pc_";
  for (size_t i = 3; ok && i < id.size(); ++i) {
    ok = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '2' && id[i] <= '7');
  }
  return ok ? absl::OkStatus()
            : Invalid(field,
                      "malformed; a piece id is \"pc_\" and 26 "
                      "characters of [a-z2-7]");
}

absl::Status ValidateStudioId(std::string_view field, std::string_view id) {
  if (id.empty()) return Invalid(field, "required");
  bool ok = id.size() <= 64;
  for (size_t i = 0; ok && i < id.size(); ++i) {
    const char c = id[i];
    ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         (i > 0 && (c == '.' || c == '_' || c == '-'));
  }
  return ok ? absl::OkStatus()
            : Invalid(field, "must be 1-64 characters of [a-z0-9._-]");
}

absl::Status ValidateCreatePiece(const v1::CreatePieceRequest& r) {
  RETURN_IF_ERROR(ValidateStudioId("studio_id", r.studio_id()));
  RETURN_IF_ERROR(
      CheckText("studio_reference", r.studio_reference(), 128, true));
  if (r.kind() == v1::PIECE_KIND_UNSPECIFIED ||
      !v1::PieceKind_IsValid(r.kind())) {
    return Invalid("kind", "required (ring, band, pendant, ...)");
  }
  RETURN_IF_ERROR(CheckText("title", r.title(), 256, false));
  if (!r.gtin().empty()) RETURN_IF_ERROR(ValidateGtin("gtin", r.gtin()));
  if (!r.serial().empty()) {
    if (r.gtin().empty()) {
      return Invalid("serial", "a GS1 serial number needs the piece's gtin");
    }
    RETURN_IF_ERROR(ValidateGs1Serial("serial", r.serial()));
  }
  if (r.asset_readers_size() > 64)
    return Invalid("asset_readers", "at most 64");
  for (int i = 0; i < r.asset_readers_size(); ++i) {
    RETURN_IF_ERROR(CheckText(StrCat("asset_readers[", i, "]"),
                              r.asset_readers(i), 128, true));
  }
  return absl::OkStatus();
}

// Cited checks: ids well formed, an override a public reason, a heat map
// one of the version's files. The ledger checks the rest (evidence.h).
static absl::Status CheckEvidenceInput(const v1::TwinVersion& v,
                                       const std::set<std::string>& assets) {
  constexpr int kMaxEvidence = 16;
  if (v.evidence_size() > kMaxEvidence) {
    return Invalid("version.evidence", StrCat("at most ", kMaxEvidence));
  }
  for (int i = 0; i < v.evidence_size(); ++i) {
    const auto& e = v.evidence(i);
    const std::string f = StrCat("version.evidence[", i, "]");
    bool ok = e.check_id().size() == 35 && e.check_id().starts_with("ck_");
    for (size_t j = 3; ok && j < e.check_id().size(); ++j) {
      const char c = e.check_id()[j];
      ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }
    if (!ok) {
      return Invalid(f + ".check_id",
                     "malformed; a check id is \"ck_\" and 32 lower-case "
                     "hex characters");
    }
    if (!e.override_reason().empty()) {
      RETURN_IF_ERROR(
          ValidateStatusReason(f + ".override_reason", e.override_reason()));
    }
    if (!e.heat_map_sha256().empty()) {
      RETURN_IF_ERROR(
          CheckLinked(f + ".heat_map_sha256", e.heat_map_sha256(), assets));
    }
  }
  return absl::OkStatus();
}

// Checks `v`; messages name fields under "version".
static absl::Status ValidateVersionFields(const v1::TwinVersion& v) {
  if (v.reason() == v1::VERSION_REASON_UNSPECIFIED ||
      !v1::VersionReason_IsValid(v.reason())) {
    return Invalid("version.reason",
                   "required (original, resize, repair, ...)");
  }
  if (v.parent_number() == 0 && v.reason() != v1::VERSION_REASON_ORIGINAL) {
    return Invalid("version.reason", "the first version's reason is original");
  }
  RETURN_IF_ERROR(CheckText("version.note", v.note(), 4096, false));
  if (v.assets_size() > 1000) return Invalid("version.assets", "at most 1000");
  std::set<std::string> assets;
  for (int i = 0; i < v.assets_size(); ++i) {
    const std::string f = StrCat("version.assets[", i, "]");
    RETURN_IF_ERROR(CheckAsset(f, v.assets(i)));
    if (!assets.insert(v.assets(i).sha256()).second) {
      return Invalid(f + ".sha256", "listed twice");
    }
  }
  RETURN_IF_ERROR(CheckAssay(v.assay()));
  for (int i = 0; i < v.hallmarks_size(); ++i) {
    const auto& h = v.hallmarks(i);
    const std::string f = StrCat("version.hallmarks[", i, "]");
    for (const auto& [name, value] :
         {std::pair{".sponsor_mark", &h.sponsor_mark()},
          {".fineness_mark", &h.fineness_mark()},
          {".assay_office", &h.assay_office()},
          {".date_letter", &h.date_letter()},
          {".common_control_mark", &h.common_control_mark()}}) {
      RETURN_IF_ERROR(CheckText(f + name, *value, 128, false));
    }
    if (!h.photo_sha256().empty()) {
      RETURN_IF_ERROR(
          CheckLinked(f + ".photo_sha256", h.photo_sha256(), assets));
    }
  }
  for (int i = 0; i < v.stones_size(); ++i) {
    RETURN_IF_ERROR(CheckStone(StrCat("version.stones[", i, "]"), v.stones(i)));
  }
  RETURN_IF_ERROR(CheckProduction(v, assets));
  RETURN_IF_ERROR(CheckEvidenceInput(v, assets));
  return CheckToleranceAndSize(v);
}

absl::Status ValidateVersion(const v1::TwinVersion& v, std::string_view field) {
  absl::Status s = ValidateVersionFields(v);
  constexpr std::string_view kDefault = "version";
  if (s.ok() || field == kDefault) return s;
  return absl::Status(s.code(),
                      StrCat(field, s.message().substr(kDefault.size())));
}

absl::Status ValidateStatusReason(std::string_view field,
                                  std::string_view reason) {
  constexpr size_t kMaxReason = 500;
  if (reason.empty() || reason.size() > kMaxReason) {
    return Invalid(field, StrCat("required, at most ", kMaxReason,
                                 " bytes; it is logged publicly, so no "
                                 "personal data"));
  }
  for (size_t pos = 0; pos < reason.size();) {
    const size_t at = pos;
    const std::optional<char32_t> c = DecodeUtf8(reason, &pos);
    if (!c) {
      return Invalid(field, StrCat("not valid UTF-8 text (byte ", at, ")"));
    }
    if (IsTerminalControl(*c)) {
      char code[16];
      std::snprintf(code, sizeof(code), "U+%04X", static_cast<unsigned>(*c));
      return Invalid(
          field, StrCat("contains a control character (", code, " at byte ", at,
                        "): escapes and controls would rewrite "
                        "what verifiers print"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateUploadHeader(const v1::UploadAssetHeader& h,
                                  uint64_t max_asset_bytes) {
  if (!h.sha256().empty()) {  // Else it comes in the trailer.
    RETURN_IF_ERROR(CheckSha("header.sha256", h.sha256()));
  }
  if (h.size_bytes() > max_asset_bytes) {
    return absl::ResourceExhaustedError(
        StrCat("header.size_bytes: ", h.size_bytes(), " exceeds the limit of ",
               max_asset_bytes, " bytes"));
  }
  RETURN_IF_ERROR(CheckText("header.file_name", h.file_name(), 255, false));
  return CheckText("header.media_type", h.media_type(), 127, false);
}

}  // namespace loupe::server
