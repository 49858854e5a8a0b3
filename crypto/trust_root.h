#pragma once

// The registry's trust root: which keys may sign what, and when. Verifiers
// hold a root and follow signed rotations to newer ones (ideas from TUF):
// root N+1 is accepted only with `threshold` valid signatures from root N's
// root keys and `threshold` from its own; versions only increase by one, so
// a rollback or a skipped version is refused. Keys keep a validity period:
// a rotated-out key stays listed with `valid_until`, so what it signed while
// valid still verifies. Format in docs/certificate-format.md.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/cosignature.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"

namespace loupe::crypto {

inline constexpr char kRootPayloadType[] =
    "application/vnd.loupe.trust-root+json";
inline constexpr char kRoleRoot[] = "root";
inline constexpr char kRoleCertificate[] = "certificate";
inline constexpr char kRoleCheckpoint[] = "checkpoint";

struct RootKey {
  PublicKey public_key{};
  std::vector<std::string> roles;
  absl::Time valid_from = absl::InfinitePast();
  std::optional<absl::Time> valid_until;  // Exclusive; none = no end.

  [[nodiscard]] std::string keyid() const { return KeyId(public_key); }
  [[nodiscard]] bool HasRole(std::string_view role) const;
};

struct TrustRoot {
  std::string origin;  // e.g. "registry.example/loupe"
  uint64_t version = 1;
  uint32_t threshold = 1;  // Root-key signatures needed on a root.
  std::vector<RootKey> keys;
  // Witnesses that cosign the log's checkpoints (C2SP tlog-cosignature),
  // and how many of them must have cosigned a checkpoint for verifiers to
  // accept it: 0 = no policy (cosignatures are checked and reported when
  // present), else 1..witnesses.size(). Changing them is a root rotation.
  std::vector<Cosigner> witnesses = {};
  uint32_t witness_threshold = 0;

  [[nodiscard]] const RootKey* FindKey(std::string_view keyid) const;
  // The key `keyid` if it has `role` and was valid at `when`; otherwise
  // PERMISSION_DENIED saying which of these failed.
  [[nodiscard]] absl::StatusOr<PublicKey> KeyValidAt(std::string_view keyid,
                                                     std::string_view role,
                                                     absl::Time when) const;
};

// Finds the keys of `root` that have `role`, by key id, for VerifyEnvelope.
// `root` must outlive the lookup.
[[nodiscard]] KeyLookup KeysWithRole(const TrustRoot& root,
                                     std::string_view role);

// The root's canonical JSON payload, and back. Parsing checks every field
// (INVALID_ARGUMENT naming it): origin, version >= 1, 1 <= threshold <=
// number of root keys, keys with hex public keys, known roles, RFC 3339
// times (UTC, "Z"), no duplicate keys; witnesses (optional) with valid key
// names and hex keys, no name or key twice, and a witness_threshold of 0 to
// their number.
[[nodiscard]] absl::StatusOr<std::string> EncodeRoot(const TrustRoot& root);
[[nodiscard]] absl::StatusOr<TrustRoot> ParseRoot(std::string_view payload);

// Signs `root` with each of `signers` (one DSSE envelope, one signature
// each).
[[nodiscard]] absl::StatusOr<DsseEnvelope> SignRoot(
    const TrustRoot& root, const std::vector<const SigningKey*>& signers);

// Accepts a root trusted out of band (shipped with the verifier) if it is
// signed by `threshold` of its own root keys.
[[nodiscard]] absl::StatusOr<TrustRoot> VerifyInitialRoot(
    const DsseEnvelope& envelope);

// Accepts `next` as the successor of `trusted`: version trusted+1, origin
// unchanged, signed by a threshold of both roots' root keys.
// PERMISSION_DENIED saying why otherwise (rollback, skipped version,
// missing signatures).
[[nodiscard]] absl::StatusOr<TrustRoot> VerifyNextRoot(
    const TrustRoot& trusted, const DsseEnvelope& next);

// Follows `chain` (successive roots, oldest first; roots at or below the
// trusted version are skipped as already known) and returns the newest.
[[nodiscard]] absl::StatusOr<TrustRoot> FollowRoots(
    TrustRoot trusted, const std::vector<DsseEnvelope>& chain);

}  // namespace loupe::crypto
