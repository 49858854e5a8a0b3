#include "server/registry/evidence.h"

#include <set>
#include <string>
#include <utility>

#include "base/str_cat.h"
#include "crypto/check_statement.h"
#include "crypto/dsse.h"
#include "crypto/sha256.h"

namespace loupe::server {
namespace {

// Which check purpose is evidence for which version reason. Reasons not
// listed (original, refinish, stone replacement, correction) take none: a
// matching band is a piece of its own, checked against another piece.
constexpr std::pair<v1::VersionReason, std::string_view> kPurposes[] = {
    {v1::VERSION_REASON_REPAIR, "repair"},
    {v1::VERSION_REASON_RESIZE, "resize"},
    {v1::VERSION_REASON_REORDER, "reorder"},
};

}  // namespace

std::string_view PurposeForReason(v1::VersionReason reason) {
  for (const auto& [r, purpose] : kPurposes) {
    if (r == reason) return purpose;
  }
  return {};
}

absl::Status FillEvidence(const v1::GeometryCheck& check,
                          v1::CheckEvidence& e) {
  auto envelope = crypto::EnvelopeFromJson(check.statement_json());
  if (!envelope.ok()) return envelope.status();
  auto facts = crypto::ParseCheckPayload(envelope->payload);
  if (!facts.ok()) return facts.status();
  v1::CheckEvidence out;
  out.set_check_id(e.check_id());
  out.set_override_reason(e.override_reason());
  out.set_heat_map_sha256(e.heat_map_sha256());
  out.set_statement_sha256(crypto::Sha256::HexOf(envelope->payload));
  out.set_log_index(check.log_index());
  out.set_purpose(facts->purpose);
  out.set_tolerance_um(facts->tolerance_um);
  out.set_pass(facts->pass);
  out.set_checked_version(facts->version);
  out.set_file_sha256(facts->file_sha256);
  out.set_twin_asset_sha256(facts->twin_asset_sha256);
  out.set_max_abs_nm(facts->max_abs_nm);
  out.set_p95_abs_nm(facts->p95_abs_nm);
  out.set_rms_nm(facts->rms_nm);
  out.set_coverage_ppm(facts->coverage_ppm);
  out.set_inner_diameter_nm(facts->inner_diameter_nm);
  out.set_checked_at(
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", facts->at, absl::UTCTimeZone()));
  out.set_checked_by(facts->checked_by);
  e = std::move(out);
  return absl::OkStatus();
}

absl::Status CiteEvidence(storage::Transaction& txn, v1::TwinVersion& version,
                          std::string_view field) {
  std::set<std::string> cited;
  for (int i = 0; i < version.evidence_size(); ++i) {
    v1::CheckEvidence& e = *version.mutable_evidence(i);
    const std::string f = StrCat(field, ".evidence[", i, "]");
    if (!cited.insert(e.check_id()).second) {
      return absl::InvalidArgumentError(
          StrCat(f, ".check_id: ", e.check_id(), " is cited twice"));
    }
    auto found = txn.FindCheck(e.check_id());
    if (!found.ok()) return found.status();
    if (!found->has_value()) {
      return absl::NotFoundError(
          StrCat(f, ".check_id: no recorded check ", e.check_id(),
                 " (record one with CheckGeometry record, `loupe check "
                 "--record`)"));
    }
    const v1::GeometryCheck& check = **found;
    if (check.piece_id() != version.piece_id()) {
      return absl::InvalidArgumentError(
          StrCat(f, ".check_id: ", e.check_id(), " is a check of piece ",
                 check.piece_id(), ", not of ", version.piece_id()));
    }
    const std::string_view wanted = PurposeForReason(version.reason());
    if (check.purpose() != wanted) {
      return absl::InvalidArgumentError(
          StrCat(f, ".check_id: ", e.check_id(), " is a ", check.purpose(),
                 " check; a version of reason ",
                 v1::VersionReason_Name(version.reason()), " takes ",
                 wanted.empty() ? std::string("no check evidence")
                                : StrCat(wanted, " checks")));
    }
    if (check.version() != version.parent_number()) {
      return absl::FailedPreconditionError(StrCat(
          f, ".check_id: ", e.check_id(), " checked against version ",
          check.version(), ", which is not this version's parent ",
          version.parent_number(), "; check again against the current twin"));
    }
    if (!check.pass() && e.override_reason().empty()) {
      return absl::InvalidArgumentError(
          StrCat(f, ".override_reason: ", e.check_id(),
                 " failed; citing it needs the studio's stated reason"));
    }
    if (check.pass() && !e.override_reason().empty()) {
      return absl::InvalidArgumentError(
          StrCat(f, ".override_reason: ", e.check_id(),
                 " passed; an override is only for a failed check"));
    }
    if (auto s = FillEvidence(check, e); !s.ok()) {
      return absl::DataLossError(StrCat(f, ": the recorded check ",
                                        e.check_id(),
                                        " no longer reads: ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace loupe::server
