#include "server/registry/geometry_check.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "base/str_cat.h"
#include "crypto/check_statement.h"
#include "crypto/dsse.h"
#include "crypto/sha256.h"
#include "crypto/statement.h"
#include "geometry/compare.h"
#include "geometry/read_mesh.h"
#include "server/registry/geometry_summary.h"
#include "server/registry/validate.h"

namespace loupe::server {
namespace {

// The twin's mesh: the named asset (which must belong to the version) or
// the version's first measured mesh.
absl::StatusOr<std::pair<std::string, std::string>> TwinMesh(
    storage::Store& store, const v1::TwinVersion& version,
    const std::string& wanted) {
  for (const auto& g : version.geometry()) {
    if (wanted.empty() || g.asset_sha256() == wanted) {
      for (const auto& a : version.assets()) {
        if (a.sha256() == g.asset_sha256()) {
          auto sha = crypto::ParseSha256Hex(a.sha256());
          if (!sha.ok()) return sha.status();
          auto bytes = storage::ReadAssetBytes(store, *sha);
          if (!bytes.ok()) return bytes.status();
          return std::make_pair(a.file_name(), *std::move(bytes));
        }
      }
    }
  }
  return absl::FailedPreconditionError(
      wanted.empty()
          ? StrCat("version: version ", version.number(),
                   " has no measured mesh file (STL, OBJ, PLY, STEP or 3MF "
                   "scan or CAD)")
          : StrCat("twin_asset_sha256: not a measured mesh of version ",
                   version.number()));
}

// Lengths as whole nanometres (at most about 4 m), shares in ppm.
uint32_t Nanometres(double mm) {
  return static_cast<uint32_t>(std::clamp(std::llround(mm * 1e6), 0ll,
                                          static_cast<long long>(UINT32_MAX)));
}

crypto::CheckFacts CheckFactsOf(const v1::GeometryCheck& c,
                                const Principal& who, absl::Time now) {
  crypto::CheckFacts f;
  f.piece_id = c.piece_id();
  f.version = c.version();
  f.file_sha256 = c.file_sha256();
  f.twin_asset_sha256 = c.twin_asset_sha256();
  f.purpose = c.purpose();
  f.tolerance_um = static_cast<uint32_t>(std::llround(c.tolerance_mm() * 1e3));
  f.pass = c.pass();
  f.reasons.assign(c.reasons().begin(), c.reasons().end());
  f.max_abs_nm = Nanometres(c.max_abs_mm());
  f.p95_abs_nm = Nanometres(c.p95_abs_mm());
  f.rms_nm = Nanometres(c.rms_mm());
  f.coverage_ppm = static_cast<uint32_t>(
      std::clamp(std::llround(c.coverage() * 1e6), 0ll, 1000000ll));
  f.inner_diameter_nm = Nanometres(c.inner_diameter_mm());
  f.checked_by = who.id.empty() ? "anonymous" : who.id;
  f.at = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  return f;
}

}  // namespace

absl::Status CheckGeometryHeader(storage::Store& store,
                                 const AccessPolicy& policy,
                                 const Principal& who,
                                 const v1::CheckGeometryHeader& header,
                                 bool can_record) {
  if (auto s = ValidatePieceId("piece_id", header.piece_id()); !s.ok()) {
    return s;
  }
  if (!geometry::ParsePurpose(header.purpose())) {
    return absl::InvalidArgumentError(
        "purpose: one of repair, reorder, resize, matching-band");
  }
  if (!(header.tolerance_mm() > 0 && header.tolerance_mm() < 10)) {
    return absl::InvalidArgumentError(
        "tolerance_mm: millimetres, above 0 and below 10");
  }
  if (header.record() && !can_record) {
    return absl::FailedPreconditionError(
        "record: this registry has no signing key; a check is recorded with "
        "the registry's signed statement");
  }
  if (header.size_bytes() == 0 || header.size_bytes() > kMaxCheckedFileBytes) {
    return absl::InvalidArgumentError(
        StrCat("size_bytes: 1 to ", kMaxCheckedFileBytes, " bytes"));
  }
  auto piece = store.GetPiece(header.piece_id());
  if (!piece.ok()) return piece.status();
  return policy.CheckReadAssets(who, *piece);
}

absl::StatusOr<std::pair<v1::GeometryCheck, std::string>> RecordableCheck(
    v1::GeometryCheck check) {
  auto envelope = crypto::EnvelopeFromJson(check.statement_json());
  if (!envelope.ok()) {
    return absl::FailedPreconditionError(
        "record: the check has no signed statement (no signing key)");
  }
  auto entry = crypto::CheckLogEntry(envelope->payload);
  if (!entry.ok()) return entry.status();
  check.set_check_id(crypto::CheckId(envelope->payload));
  return std::make_pair(std::move(check), *std::move(entry));
}

absl::Status AddEvidenceProofs(storage::Store& store, TransparencyLog& log,
                               crypto::Bundle& bundle) {
  auto statement = crypto::ParseStatement(bundle.certificate.payload);
  if (!statement.ok()) return statement.status();
  const auto twin = statement->predicate.value("twin", nlohmann::json());
  const auto cited = twin.is_object()
                         ? twin.value("evidence", nlohmann::json::array())
                         : nlohmann::json::array();
  bundle.evidence.clear();
  for (const auto& e : cited) {
    const std::string id =
        e.is_object() ? e.value("check_id", std::string()) : std::string();
    auto check = store.GetCheck(id);
    if (!check.ok()) {
      return absl::DataLossError(
          StrCat("evidence: cited check ", id, ": ", check.status().message()));
    }
    auto envelope = crypto::EnvelopeFromJson(check->statement_json());
    if (!envelope.ok()) return envelope.status();
    auto proof = log.ProveEntry(check->log_index());
    if (!proof.ok()) return proof.status();
    bundle.evidence.push_back({*std::move(envelope), *std::move(proof)});
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::GeometryCheck> RunGeometryCheck(
    storage::Store& store, const CertificateSigner* signer,
    const Principal& who, const v1::CheckGeometryHeader& header,
    const std::string& file, uint64_t max_triangles, int threads) {
  auto version = store.GetVersion(header.piece_id(), header.version());
  if (!version.ok()) return version.status();
  auto twin_file = TwinMesh(store, *version, header.twin_asset_sha256());
  if (!twin_file.ok()) return twin_file.status();
  auto mesh = ReadLimitedMesh(file, header.file_name(), max_triangles);
  if (absl::IsResourceExhausted(mesh.status())) {
    return absl::ResourceExhaustedError(
        StrCat("file: ", header.file_name(), ": ", mesh.status().message()));
  }
  if (!mesh.ok()) {
    return absl::InvalidArgumentError(
        StrCat("file: ", header.file_name(),
               " is not a readable mesh: ", mesh.status().message()));
  }
  auto twin =
      ReadLimitedMesh(twin_file->second, twin_file->first, max_triangles);
  if (!twin.ok()) return absl::DataLossError("the twin's mesh no longer reads");
  geometry::CompareOptions options;
  options.purpose = *geometry::ParsePurpose(header.purpose());
  options.tolerance_mm = header.tolerance_mm();
  options.allow_scale = header.allow_scale();
  options.threads = threads;
  auto report = geometry::Compare(std::move(mesh->mesh), twin->mesh, options);
  if (!report.ok()) return report.status();
  v1::GeometryCheck out;
  out.set_pass(report->pass);
  for (const auto& r : report->reasons) out.add_reasons(r);
  out.set_purpose(header.purpose());
  out.set_tolerance_mm(header.tolerance_mm());
  out.set_file_sha256(crypto::Sha256::HexOf(file));
  out.set_twin_asset_sha256(crypto::Sha256::HexOf(twin_file->second));
  out.set_version(version->number());
  out.set_piece_id(header.piece_id());
  if (report->to_twin) {
    const auto& s = report->to_twin->stats;
    out.set_p95_abs_mm(s.p95_abs);
    out.set_max_abs_mm(s.max_abs);
    out.set_rms_mm(s.rms);
    out.set_coverage(report->coverage);
    out.set_scale(report->alignment.pose.scale);
  }
  if (report->ring) out.set_inner_diameter_mm(report->ring->inner_diameter_mm);
  if (signer != nullptr) {
    auto statement = signer->SignJson(
        kGeometryCheckPayloadType,
        crypto::CheckPayloadJson(CheckFactsOf(out, who, absl::Now())));
    if (!statement.ok()) return statement.status();
    out.set_statement_json(crypto::EnvelopeToJson(*statement));
  }
  return out;
}

}  // namespace loupe::server
