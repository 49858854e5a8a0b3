#pragma once

// A certificate bundle: one JSON file with everything an offline verifier
// needs except the trust root it already holds:
//   {"certificate": <DSSE envelope>, "format": "loupe-certificate-bundle-v1",
//    "roots": [<DSSE envelope of a trust root>, ... oldest first]}
// The roots let a verifier holding an older root follow rotations. Two
// optional members: "log" (crypto/log_entry.h LogProof: the certificate's
// log index, inclusion proof and signed checkpoint) and "status" (a signed
// piece-status statement, crypto/piece_status.h, stapled when fetched).
// A certificate whose version cites recorded checks also carries
// "evidence": [{"check": <DSSE envelope of the check statement>,
// "log": <LogProof of its check entry>}, ...] (crypto/check_statement.h).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/dsse.h"
#include "crypto/log_entry.h"

namespace loupe::crypto {

inline constexpr char kBundleFormat[] = "loupe-certificate-bundle-v1";

// A cited check's signed statement and the proof that it was logged.
struct BundleEvidence {
  DsseEnvelope check;
  std::optional<LogProof> log;
};

struct Bundle {
  DsseEnvelope certificate;
  std::vector<DsseEnvelope> roots;
  std::optional<LogProof> log;
  std::optional<DsseEnvelope> status;
  std::vector<BundleEvidence> evidence = {};  // Absent from JSON when empty.
};

[[nodiscard]] std::string EncodeBundle(const Bundle& bundle);

// INVALID_ARGUMENT naming the field for anything malformed or truncated.
[[nodiscard]] absl::StatusOr<Bundle> ParseBundle(std::string_view text);

}  // namespace loupe::crypto
