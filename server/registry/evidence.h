#pragma once

// The rules for citing recorded geometry checks as evidence of a new
// version (TwinVersion.evidence), run by the ledger inside the version's
// write so that "is the check's version still the parent?" is atomic.

#include <string_view>

#include "absl/status/status.h"
#include "loupe/v1/twin.pb.h"
#include "server/storage/store.h"

namespace loupe::server {

// The version reason a check purpose is evidence for ("repair" for
// VERSION_REASON_REPAIR, ...); empty for a reason no check supports.
[[nodiscard]] std::string_view PurposeForReason(v1::VersionReason reason);

// Checks each cited check of `version` (whose parent_number was checked
// against the piece already) and fills its output fields from the recorded
// check. Errors name `field`.evidence[i].<field>:
//   NOT_FOUND          check_id: no recorded check;
//   INVALID_ARGUMENT   check_id: a check of another piece, cited twice, or
//                      for another purpose than the version's reason;
//                      override_reason: missing for a failed check, or
//                      given for a passing one;
//   FAILED_PRECONDITION check_id: checked against a version that is not
//                      this version's parent (check again).
[[nodiscard]] absl::Status CiteEvidence(storage::Transaction& txn,
                                        v1::TwinVersion& version,
                                        std::string_view field);

// Copies a recorded check's facts into an evidence entry (keeping its
// check_id, override_reason and heat_map_sha256). INVALID_ARGUMENT if the
// stored statement does not parse.
[[nodiscard]] absl::Status FillEvidence(const v1::GeometryCheck& check,
                                        v1::CheckEvidence& evidence);

}  // namespace loupe::server
