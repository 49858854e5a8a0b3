#pragma once

// Identification as a registry call: a scan against every registered ring
// (docs/geometry.md, "Identification"). A cascade: the scan's signature
// (geometry/signature.h), the nearest signatures in the SignatureIndex
// (a window on the inner diameter, then the descriptor), then the top
// candidates verified with the aligner and the exact deviation
// (geometry/identify.h); the answer with its evidence, each candidate's
// status, and a statement signed by the registry.

#include <string>

#include "absl/status/statusor.h"
#include "geometry/identify.h"
#include "loupe/v1/registry.pb.h"
#include "server/policy/access_policy.h"
#include "server/registry/signature_index.h"
#include "server/signing/signer.h"
#include "server/storage/store.h"

namespace loupe::server {

inline constexpr char kIdentificationPayloadType[] =
    "application/vnd.loupe.identification+json";

// The decision's thresholds (docs/geometry.md gives their measured error
// rates): a version matches when at least `accept` of the scan's area lies
// within tolerance of it, their envelopes agree (`max_conflict`) and the
// band's faces sit at one offset (`max_face_spread_mm`); pieces within
// `several_margin` of the best are indistinguishable
// (CONSISTENT_WITH_SEVERAL).
struct IdentifyThresholds {
  double accept = 0.80;
  // ... and at most this share of the cells both surfaces cover differ in
  // their outermost surface (geometry::Verification::envelope_conflict).
  double max_conflict = 0.075;
  // ... and the medians of the inner wall's, outer surface's and sides'
  // deviations differ by at most this
  // (geometry::Verification::face_offset_spread_mm).
  double max_face_spread_mm = 0.035;
  double several_margin = 0.04;
  size_t verified_assets = 4;  // Distinct meshes verified.
  double default_tolerance_mm = 0.1;
};

// Whether a verified version matches by the thresholds above.
[[nodiscard]] bool Passes(const IdentifyThresholds& t,
                          const geometry::Verification& v);

// Sorts `out`'s candidates by share, best first, then the verdict from
// them (each `passes` set by the thresholds): the best version of each piece;
// the best piece not passing is NO_MATCH; several passing within
// `several_margin` of the best is CONSISTENT_WITH_SEVERAL (all listed);
// else IDENTIFIED. Fills verdict, matches, margin, reasons and alerts.
void Decide(const IdentifyThresholds& t, v1::Identification* out);

// Checks the header before any bytes are accepted: PERMISSION_DENIED for
// anonymous callers, INVALID_ARGUMENT naming the field.
[[nodiscard]] absl::Status CheckIdentifyHeader(
    const Principal& who, const v1::IdentifyPieceHeader& header);

// Runs the identification on `threads` threads. `signer` may be null
// (then no statement). INVALID_ARGUMENT naming "file" for a malformed mesh
// or one that is not a ring.
[[nodiscard]] absl::StatusOr<v1::Identification> RunIdentification(
    storage::Store& store, const SignatureIndex& index,
    const CertificateSigner* signer, const Principal& who,
    const v1::IdentifyPieceHeader& header, const std::string& file,
    uint64_t max_triangles, int threads,
    const IdentifyThresholds& thresholds = {});

}  // namespace loupe::server
