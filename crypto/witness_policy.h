#pragma once

// The trust root's witness policy (TrustRoot::witnesses,
// witness_threshold): which of its witnesses cosigned a checkpoint, and
// whether enough did. Kept apart from the checkpoint's own signature check
// (VerifyRootCheckpoint), so that callers run both and report both.

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/checkpoint.h"
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

// A checkpoint signed by a checkpoint key of `root` that has since retired
// (valid_until set) still vouches for its tree if witnesses saw it while
// the key was valid: at least root.witness_threshold (which must be >= 1)
// of the root's witnesses cosigned it at a time in [valid_from,
// valid_until) of that key. Then the checkpoint; else UNAUTHENTICATED
// saying why. (A thief of the retired key can sign a new tree, but no
// honest witness cosigns it with an old time.)
[[nodiscard]] absl::StatusOr<Checkpoint> VerifyRetiredKeyCheckpoint(
    std::string_view note, const TrustRoot& root);

}  // namespace loupe::crypto
