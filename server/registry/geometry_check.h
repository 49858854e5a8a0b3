#pragma once

// The geometry checker as a registry call: a file (a scan or CAD file of a
// repair, reorder, resize or matching band) against a version of a piece's
// twin (geometry/compare.h), with a statement signed by the registry.

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "crypto/bundle.h"
#include "loupe/v1/registry.pb.h"
#include "server/log/transparency_log.h"
#include "server/policy/access_policy.h"
#include "server/signing/signer.h"
#include "server/storage/store.h"

namespace loupe::server {

// Largest file CheckGeometry takes (it is held in memory while checked).
inline constexpr uint64_t kMaxCheckedFileBytes = 256ull << 20;

inline constexpr char kGeometryCheckPayloadType[] =
    "application/vnd.loupe.geometry-check+json";

// Checks the header before any bytes are accepted: INVALID_ARGUMENT naming
// the field, NOT_FOUND, PERMISSION_DENIED unless `who` may read the piece's
// files; FAILED_PRECONDITION naming record when asked to record without a
// signing key (`can_record` false).
[[nodiscard]] absl::Status CheckGeometryHeader(
    storage::Store& store, const AccessPolicy& policy, const Principal& who,
    const v1::CheckGeometryHeader& header, bool can_record);

// A signed check ready to record: the check with its check_id set (from
// its statement's payload, crypto::CheckId) and its log entry
// (crypto::CheckLogEntry). FAILED_PRECONDITION naming record if unsigned.
[[nodiscard]] absl::StatusOr<std::pair<v1::GeometryCheck, std::string>>
RecordableCheck(v1::GeometryCheck check);

// Runs the check on `threads` threads (geometry.threads). `signer` may be
// null (then no statement).
[[nodiscard]] absl::StatusOr<v1::GeometryCheck> RunGeometryCheck(
    storage::Store& store, const CertificateSigner* signer,
    const Principal& who, const v1::CheckGeometryHeader& header,
    const std::string& file, uint64_t max_triangles, int threads);

// Adds to `bundle` the statement of each check its certificate's version
// cites (twin.evidence), with a proof of the check's log entry, so that a
// verifier checks them offline. DATA_LOSS if a cited check is not stored.
[[nodiscard]] absl::Status AddEvidenceProofs(storage::Store& store,
                                             TransparencyLog& log,
                                             crypto::Bundle& bundle);

}  // namespace loupe::server
