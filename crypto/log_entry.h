#pragma once

// Entries of Loupe's transparency log and the proof a bundle carries that
// one of them is logged. Every entry is canonical JSON with a "type":
//   certificate  {certificate_id, piece_id, statement_sha256, type, version}
//   version      {assets, parent, piece_id, reason, studio_id, type, version}
//   status       {at, by, piece_id, previous, reason, sequence, status, type}
//   owner        {authorization, owner, piece_id, sequence, set_by, type}
// The certificate entry is derived from the signed statement alone, so an
// offline verifier rebuilds it from a bundle. Formats in
// docs/transparency-log.md.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/checkpoint.h"
#include "crypto/merkle.h"
#include "crypto/trust_root.h"

namespace loupe::crypto {

// `fields` (an object) with "type" added, in canonical form.
// INVALID_ARGUMENT if a value has no canonical form.
[[nodiscard]] absl::StatusOr<std::string> EncodeLogEntry(std::string_view type,
                                                         nlohmann::json fields);

// The entry of a certificate whose signed statement is `payload`.
[[nodiscard]] std::string CertificateLogEntry(std::string_view payload,
                                              std::string_view piece_id,
                                              uint32_t version);

// The certificate id: "ct_" and 32 hex characters of SHA-256(payload).
[[nodiscard]] std::string CertificateId(std::string_view payload);

// Where an entry sits in the log, and the signed checkpoint proving it.
struct LogProof {
  uint64_t index = 0;
  uint64_t tree_size = 0;
  std::vector<Hash> inclusion;
  std::string checkpoint;  // Signed note.
};

[[nodiscard]] nlohmann::json LogProofToJson(const LogProof& proof);
// INVALID_ARGUMENT naming the field under `path`.
[[nodiscard]] absl::StatusOr<LogProof> LogProofFromJson(
    const nlohmann::json& json, std::string_view path);

// Verifies `note` with the checkpoint keys of `root` (name = root.origin)
// whose checkpoint role is valid at `now`: a checkpoint carries no time of
// its own, so a retired key (valid_until <= now) can no longer vouch for a
// tree, and a thief of it cannot write history; unless the root's witness
// policy vouches for it (VerifyRetiredKeyCheckpoint: k witnesses cosigned
// it while the key was valid). UNAUTHENTICATED if no such key signed it,
// saying when a retired key did.
[[nodiscard]] absl::StatusOr<Checkpoint> VerifyRootCheckpoint(
    std::string_view note, const TrustRoot& root, absl::Time now);

// Verifies a checkpoint the verifier saved itself after verifying it (an
// auditor's last-seen checkpoint): signed by any key that holds or held the
// checkpoint role in `root`, whatever its validity now. Never for a
// checkpoint that came from anyone else.
[[nodiscard]] absl::StatusOr<Checkpoint> VerifySavedCheckpoint(
    std::string_view note, const TrustRoot& root);

// Checks that `entry` is at proof.index in the tree of the signed
// checkpoint: the checkpoint verifies at `now` (VerifyRootCheckpoint), its size
// is proof.tree_size, and the inclusion proof leads to its root.
// UNAUTHENTICATED saying which check failed.
[[nodiscard]] absl::StatusOr<Checkpoint> VerifyLogInclusion(
    std::string_view entry, const LogProof& proof, const TrustRoot& root,
    absl::Time now);

}  // namespace loupe::crypto
