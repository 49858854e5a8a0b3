#pragma once

// `loupe verify`'s checks of the evidence a certificate carries: each
// recorded geometry check its version cites (twin.evidence) must come with
// its signed statement in the bundle ("evidence"), signed by a certificate
// key of the trust root valid when the check was made, about this piece
// and this version's parent, saying exactly what the certificate says it
// does, and logged (its entry in the signed tree), all offline.

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/bundle.h"
#include "crypto/certificate.h"
#include "crypto/trust_root.h"
#include "loupe/v1/twin.pb.h"

namespace loupe::client {

struct VerifiedEvidence {
  v1::CheckEvidence evidence;  // As the certificate states it.
  std::optional<crypto::LogProof> log;
};

// UNAUTHENTICATED naming evidence[i] and what failed; a bundle without a
// check's log proof passes only with `allow_unlogged`.
[[nodiscard]] absl::StatusOr<std::vector<VerifiedEvidence>> VerifyEvidence(
    const crypto::Bundle& bundle, const crypto::VerifiedCertificate& cert,
    const crypto::TrustRoot& root, absl::Time now, bool allow_unlogged);

void PrintEvidence(const std::vector<VerifiedEvidence>& evidence,
                   std::ostream& out);
[[nodiscard]] nlohmann::json EvidenceJson(
    const std::vector<VerifiedEvidence>& evidence);

}  // namespace loupe::client
