#include "client/verify_evidence.h"

#include <string>

#include "base/str_cat.h"
#include "client/format.h"
#include "crypto/check_statement.h"
#include "crypto/log_entry.h"
#include "crypto/sha256.h"

namespace loupe::client {
namespace {

using Json = nlohmann::json;

absl::Status Failed(size_t i, const std::string& id, absl::string_view why) {
  return absl::UnauthenticatedError(
      StrCat("evidence[", i, "] (", id, "): ", why));
}

// The first field where the certificate's entry and the signed check
// disagree, or "".
std::string Mismatch(const v1::CheckEvidence& e, const crypto::CheckFacts& f,
                     const std::string& check_id, const std::string& piece_id,
                     uint32_t parent_version) {
  const std::pair<const char*, bool> same[] = {
      {"check_id", e.check_id() == check_id},
      {"piece_id", f.piece_id == piece_id},
      {"checked_version",
       e.checked_version() == f.version && f.version == parent_version},
      {"purpose", e.purpose() == f.purpose},
      {"tolerance_um", e.tolerance_um() == f.tolerance_um},
      {"pass", e.pass() == f.pass},
      {"file_sha256", e.file_sha256() == f.file_sha256},
      {"twin_asset_sha256", e.twin_asset_sha256() == f.twin_asset_sha256},
      {"max_abs_nm", e.max_abs_nm() == f.max_abs_nm},
      {"p95_abs_nm", e.p95_abs_nm() == f.p95_abs_nm},
      {"rms_nm", e.rms_nm() == f.rms_nm},
      {"coverage_ppm", e.coverage_ppm() == f.coverage_ppm},
      {"inner_diameter_nm", e.inner_diameter_nm() == f.inner_diameter_nm},
      {"checked_by", e.checked_by() == f.checked_by},
      {"checked_at",
       e.checked_at() ==
           absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", f.at, absl::UTCTimeZone())},
  };
  for (const auto& [field, ok] : same) {
    if (!ok) return field;
  }
  return "";
}

}  // namespace

absl::StatusOr<std::vector<VerifiedEvidence>> VerifyEvidence(
    const crypto::Bundle& bundle, const crypto::VerifiedCertificate& cert,
    const crypto::TrustRoot& root, absl::Time now, bool allow_unlogged) {
  const Json& p = cert.statement.predicate;
  const Json twin = p.value("twin", Json::object());
  const Json cited =
      twin.is_object() ? twin.value("evidence", Json::array()) : Json();
  if (!cited.is_array()) {
    return absl::InvalidArgumentError("twin.evidence: not an array");
  }
  const std::string piece_id = p.value("piece_id", "");
  const uint32_t parent = p.value("parent_version", 0u);
  std::vector<VerifiedEvidence> out;
  for (size_t i = 0; i < cited.size(); ++i) {
    VerifiedEvidence v;
    if (auto s = FromJson(cited[i].dump(), &v.evidence); !s.ok()) {
      return absl::InvalidArgumentError(
          StrCat("twin.evidence[", i, "]: ", s.message()));
    }
    const v1::CheckEvidence& e = v.evidence;
    const crypto::BundleEvidence* item = nullptr;
    for (const auto& candidate : bundle.evidence) {
      if (crypto::Sha256::HexOf(candidate.check.payload) ==
          e.statement_sha256()) {
        item = &candidate;
      }
    }
    if (item == nullptr) {
      return Failed(i, e.check_id(),
                    "the bundle carries no statement of this check (fetch "
                    "it again with `loupe cert get`)");
    }
    auto facts = crypto::VerifyCheckStatement(item->check, root);
    if (!facts.ok()) return Failed(i, e.check_id(), facts.status().message());
    const std::string field = Mismatch(
        e, *facts, crypto::CheckId(item->check.payload), piece_id, parent);
    if (!field.empty()) {
      return Failed(i, e.check_id(),
                    StrCat("the certificate's ", field,
                           " is not what the signed check says"));
    }
    if (item->log) {
      auto entry = crypto::CheckLogEntry(item->check.payload);
      if (!entry.ok()) return Failed(i, e.check_id(), entry.status().message());
      if (item->log->index != e.log_index()) {
        return Failed(i, e.check_id(),
                      StrCat("logged at entry ", item->log->index,
                             ", but the certificate says ", e.log_index()));
      }
      auto included = crypto::VerifyLogInclusion(*entry, *item->log, root, now);
      if (!included.ok()) {
        return Failed(i, e.check_id(), included.status().message());
      }
      v.log = item->log;
    } else if (!allow_unlogged) {
      return Failed(i, e.check_id(),
                    "no log proof; nothing shows this check was logged");
    }
    out.push_back(std::move(v));
  }
  return out;
}

void PrintEvidence(const std::vector<VerifiedEvidence>& evidence,
                   std::ostream& out) {
  for (const auto& v : evidence) {
    out << "  evidence: " << DescribeEvidence(v.evidence) << "\n"
        << "    signed check verified";
    if (v.log) out << ", logged: entry " << v.log->index;
    out << "\n";
  }
}

Json EvidenceJson(const std::vector<VerifiedEvidence>& evidence) {
  Json out = Json::array();
  for (const auto& v : evidence) {
    Json item = Json::parse(ToJson(v.evidence));
    item["logged"] = v.log.has_value();
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace loupe::client
