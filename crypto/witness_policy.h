#pragma once

// The trust root's witness policy (TrustRoot::witnesses,
// witness_threshold): which of its witnesses cosigned a checkpoint, and
// whether enough did. Kept apart from the checkpoint's own signature check
// (VerifyRootCheckpoint), so that callers run both and report both.

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/cosignature.h"
#include "crypto/trust_root.h"

namespace loupe::crypto {

// The witnesses of `root` whose cosignatures on `note` verify, one per
// witness (its earliest cosignature), in the root's order. With
// root.witness_threshold k > 0, UNAUTHENTICATED "witness policy: k of n
// witnesses required, m vouched (names)" when fewer than k did. A forged
// line of a listed witness is UNAUTHENTICATED whatever the policy, and a
// malformed note INVALID_ARGUMENT. This does not check the log's own
// signature: call VerifyRootCheckpoint as well.
[[nodiscard]] absl::StatusOr<std::vector<Cosignature>> CheckWitnessPolicy(
    std::string_view note, const TrustRoot& root);

}  // namespace loupe::crypto
