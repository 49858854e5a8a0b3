#include "crypto/witness_policy.h"

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

}  // namespace loupe::crypto
