#include "server/registry/identification.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>

#include "absl/time/clock.h"
#include "base/str_cat.h"
#include "crypto/dsse.h"
#include "crypto/sha256.h"
#include "geometry/deviation.h"
#include "geometry/distance.h"
#include "geometry/identify.h"
#include "geometry/signature.h"
#include "server/registry/geometry_check.h"
#include "server/registry/geometry_summary.h"

namespace loupe::server {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

// Verifies the scan against one twin mesh (an asset of `twin`'s version).
absl::StatusOr<geometry::Verification> VerifyTwin(
    storage::Store& store, const IndexedTwin& twin, const geometry::Mesh& scan,
    const std::vector<double>& areas, const geometry::RingFrame& frame,
    double tolerance, uint64_t max_triangles, int threads) {
  auto version = store.GetVersion(twin.piece_id, twin.version);
  if (!version.ok()) return version.status();
  std::string file_name;
  for (const auto& a : version->assets()) {
    if (a.sha256() == twin.asset_sha256) file_name = a.file_name();
  }
  auto sha = crypto::ParseSha256Hex(twin.asset_sha256);
  if (file_name.empty() || !sha.ok()) {
    return absl::DataLossError(StrCat("piece ", twin.piece_id, " version ",
                                      twin.version, ": indexed asset missing"));
  }
  auto bytes = storage::ReadAssetBytes(store, *sha);
  if (!bytes.ok()) return bytes.status();
  auto mesh = ReadLimitedMesh(*bytes, file_name, max_triangles);
  if (!mesh.ok()) return absl::DataLossError("a twin's mesh no longer reads");
  const geometry::MeshDistance distance(mesh->mesh);
  return geometry::Verify(scan, areas, frame, mesh->mesh, distance, twin.frame,
                          tolerance, threads);
}

// "91.6 %" (of a share in 0..1).
std::string Pct(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", share * 100);
  return buf;
}

bool Alarming(v1::PieceStatus s) {
  return s == v1::PIECE_STATUS_STOLEN || s == v1::PIECE_STATUS_LOST;
}

}  // namespace

bool Passes(const IdentifyThresholds& t, const geometry::Verification& v) {
  return v.within_tolerance >= t.accept &&
         v.envelope_conflict <= t.max_conflict &&
         v.face_offset_spread_mm <= t.max_face_spread_mm;
}

void Decide(const IdentifyThresholds& t, v1::Identification* out) {
  std::stable_sort(out->mutable_candidates()->begin(),
                   out->mutable_candidates()->end(),
                   [](const auto& a, const auto& b) {
                     return a.within_tolerance() > b.within_tolerance();
                   });
  std::vector<const v1::IdentificationCandidate*> best_per_piece;
  for (const auto& c : out->candidates()) {
    bool seen = false;
    for (const auto* b : best_per_piece) seen |= b->piece_id() == c.piece_id();
    if (!seen) best_per_piece.push_back(&c);
  }
  const double best =
      best_per_piece.empty() ? 0 : best_per_piece[0]->within_tolerance();
  const double second =
      best_per_piece.size() > 1 ? best_per_piece[1]->within_tolerance() : 0;
  out->set_margin(best - second);
  if (best_per_piece.empty() || !best_per_piece[0]->passes()) {
    out->set_verdict("NO_MATCH");
    out->add_reasons(StrCat("no registered ring has ", Pct(t.accept),
                            " of the scan within ", out->tolerance_mm(),
                            " mm, its outer surface where both were "
                            "seen, and its inside, outside and sides at "
                            "one offset (best ",
                            Pct(best), ")"));
    return;
  }
  for (const auto* b : best_per_piece) {
    if (b->passes() && b->within_tolerance() >= best - t.several_margin) {
      *out->add_matches() = *b;
    }
  }
  if (out->matches_size() == 1) {
    out->set_verdict("IDENTIFIED");
    out->add_reasons(StrCat(
        Pct(best), " of the scan within ", out->tolerance_mm(), " mm of piece ",
        out->matches(0).piece_id(), " version ", out->matches(0).version(),
        "; the runner-up ", Pct(second), " (margin ", Pct(best - second), ")"));
  } else {
    out->set_verdict("CONSISTENT_WITH_SEVERAL");
    out->add_reasons(StrCat(
        out->matches_size(), " pieces match within ", Pct(t.several_margin),
        " of each other: geometry cannot tell them apart (pieces "
        "cast from one CAD file are identical within casting tolerance)"));
  }
  // Lost and stolen first, loudly.
  std::stable_sort(out->mutable_matches()->begin(),
                   out->mutable_matches()->end(),
                   [](const auto& a, const auto& b) {
                     return Alarming(a.status()) > Alarming(b.status());
                   });
  for (const auto& m : out->matches()) {
    if (m.status() == v1::PIECE_STATUS_STOLEN) {
      out->add_alerts(
          StrCat("STOLEN: piece ", m.piece_id(), " is reported stolen"));
    } else if (m.status() == v1::PIECE_STATUS_LOST) {
      out->add_alerts(
          StrCat("LOST: piece ", m.piece_id(), " is reported lost"));
    }
  }
}

namespace {

absl::Status Sign(const CertificateSigner& signer, const Principal& who,
                  v1::Identification* out) {
  nlohmann::json matches = nlohmann::json::array();
  for (const auto& m : out->matches()) {
    matches.push_back({{"piece_id", m.piece_id()},
                       {"version", m.version()},
                       {"status", v1::PieceStatus_Name(m.status())},
                       {"within_tolerance_permille",
                        std::llround(m.within_tolerance() * 1000)},
                       {"rms_um", std::llround(m.rms_mm() * 1000)},
                       {"max_abs_um", std::llround(m.max_abs_mm() * 1000)}});
  }
  auto statement = signer.SignJson(
      kIdentificationPayloadType,
      {{"verdict", out->verdict()},
       {"file_sha256", out->file_sha256()},
       {"tolerance_um", std::llround(out->tolerance_mm() * 1000)},
       {"matches", matches},
       {"margin_permille", std::llround(out->margin() * 1000)},
       {"signatures_searched", out->signatures_searched()},
       {"identified_by", who.id},
       {"at", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(),
                               absl::UTCTimeZone())}});
  if (!statement.ok()) return statement.status();
  out->set_statement_json(crypto::EnvelopeToJson(*statement));
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckIdentifyHeader(const Principal& who,
                                 const v1::IdentifyPieceHeader& header) {
  if (who.id.empty()) {
    return absl::PermissionDeniedError(
        "identification needs an authenticated caller (docs/security.md)");
  }
  if (header.tolerance_mm() != 0 &&
      !(header.tolerance_mm() >= 0.01 && header.tolerance_mm() <= 1)) {
    return absl::InvalidArgumentError("tolerance_mm: 0.01 to 1 millimetre");
  }
  if (MeshFormatOf(header.file_name()).empty()) {
    return absl::InvalidArgumentError(
        "file_name: a mesh file name ending in .stl, .obj or .ply");
  }
  if (header.size_bytes() == 0 || header.size_bytes() > kMaxCheckedFileBytes) {
    return absl::InvalidArgumentError(
        StrCat("size_bytes: 1 to ", kMaxCheckedFileBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Identification> RunIdentification(
    storage::Store& store, const SignatureIndex& index,
    const CertificateSigner* signer, const Principal& who,
    const v1::IdentifyPieceHeader& header, const std::string& file,
    uint64_t max_triangles, int threads, const IdentifyThresholds& t) {
  const Clock::time_point start = Clock::now();
  const double tolerance = header.tolerance_mm() > 0 ? header.tolerance_mm()
                                                     : t.default_tolerance_mm;
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
  auto signature = geometry::ComputeSignature(mesh->mesh);
  if (!signature.ok()) {
    return absl::InvalidArgumentError(
        StrCat("file: ", header.file_name(),
               ": identification takes a scan of a ring: ",
               signature.status().message()));
  }
  v1::Identification out;
  out.set_tolerance_mm(tolerance);
  out.set_file_sha256(crypto::Sha256::HexOf(file));
  out.set_signatures_searched(index.size());
  const std::vector<IndexHit> hits =
      index.Nearest(*signature, t.verified_assets);
  out.set_candidate_stage_ms(MsSince(start));
  const std::vector<double> areas = geometry::VertexAreas(mesh->mesh);
  std::map<std::string, geometry::Verification> verified;
  for (const auto& hit : hits) {
    const std::string& sha = hit.twin.asset_sha256;
    if (!verified.contains(sha)) {
      auto v = VerifyTwin(store, hit.twin, mesh->mesh, areas, signature->frame,
                          tolerance, max_triangles, threads);
      if (!v.ok()) return v.status();
      verified[sha] = *std::move(v);
    }
    const geometry::Verification& v = verified[sha];
    auto piece = store.GetPiece(hit.twin.piece_id);
    if (!piece.ok()) return piece.status();
    v1::IdentificationCandidate* c = out.add_candidates();
    c->set_piece_id(piece->id());
    c->set_version(hit.twin.version);
    c->set_asset_sha256(sha);
    c->set_studio_id(piece->studio_id());
    c->set_title(piece->title());
    c->set_status(piece->status());
    c->set_current_version(piece->current_version());
    c->set_within_tolerance(v.within_tolerance);
    c->set_rms_mm(v.rms_mm);
    c->set_max_abs_mm(v.max_abs_mm);
    c->set_p95_abs_mm(v.p95_abs_mm);
    c->set_signature_distance(hit.distance);
    c->set_passes(Passes(t, v));
  }
  Decide(t, &out);
  out.set_total_ms(MsSince(start));
  if (signer != nullptr) {
    if (auto s = Sign(*signer, who, &out); !s.ok()) return s;
  }
  return out;
}

}  // namespace loupe::server
