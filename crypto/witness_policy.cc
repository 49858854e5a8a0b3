#include "crypto/witness_policy.h"

#include <algorithm>

#include "absl/status/status.h"
#include "base/str_cat.h"

namespace loupe::crypto {

absl::StatusOr<std::vector<Cosignature>> CheckWitnessPolicy(
    std::string_view note, const TrustRoot& root) {
  std::vector<Cosignature> vouched;
  if (!root.witnesses.empty()) {
    auto all = VerifyCosignatures(note, root.witnesses);
    if (!all.ok()) return all.status();
    for (const auto& witness : root.witnesses) {
      const Cosignature* earliest = nullptr;
      for (const auto& c : *all) {
        if (c.name == witness.name &&
            (earliest == nullptr || c.time < earliest->time)) {
          earliest = &c;
        }
      }
      if (earliest != nullptr) vouched.push_back(*earliest);
    }
  }
  if (vouched.size() < root.witness_threshold) {
    return absl::UnauthenticatedError(StrCat(
        "witness policy: ", root.witness_threshold, " of ",
        root.witnesses.size(), " witnesses required, ", vouched.size(),
        " vouched", vouched.empty() ? "" : " (", CosignerNames(vouched),
        vouched.empty() ? "" : ")",
        "; the checkpoint may be newer than the witnesses' last cosignature "
        "(fetch the bundle again later), or the log was not witnessed"));
  }
  return vouched;
}

absl::StatusOr<Checkpoint> VerifyRetiredKeyCheckpoint(std::string_view note,
                                                      const TrustRoot& root) {
  if (root.witness_threshold == 0) {
    return absl::UnauthenticatedError(
        "checkpoint: signed by a retired key, and the trust root has no "
        "witness policy to vouch for it");
  }
  auto cosignatures = VerifyCosignatures(note, root.witnesses);
  if (!cosignatures.ok()) return cosignatures.status();
  for (const auto& key : root.keys) {
    if (!key.HasRole(kRoleCheckpoint) || !key.valid_until) continue;
    auto checkpoint = VerifyCheckpoint(note, root.origin, key.public_key);
    if (!checkpoint.ok()) continue;
    std::vector<std::string> in_window;
    for (const auto& c : *cosignatures) {
      if (c.time >= key.valid_from && c.time < *key.valid_until &&
          std::find(in_window.begin(), in_window.end(), c.name) ==
              in_window.end()) {
        in_window.push_back(c.name);
      }
    }
    if (in_window.size() >= root.witness_threshold) return checkpoint;
    return absl::UnauthenticatedError(StrCat(
        "checkpoint: signed by retired key ", key.keyid().substr(0, 16), "; ",
        in_window.size(), " witness(es) cosigned it while the key was valid, ",
        root.witness_threshold, " required"));
  }
  return absl::UnauthenticatedError(
      "checkpoint: not signed by a retired checkpoint key of the root");
}

}  // namespace loupe::crypto
