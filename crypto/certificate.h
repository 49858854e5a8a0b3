#pragma once

// Offline verification of a Loupe certificate: a DSSE envelope around an
// in-toto statement whose predicate (type kCertificatePredicateType) says
// when it was issued and by which key. The signature must verify with a
// trust-root key of role "certificate" that was valid at that time.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/dsse.h"
#include "crypto/statement.h"
#include "crypto/trust_root.h"

namespace loupe::crypto {

inline constexpr char kCertificatePredicateType[] =
    "https://loupe.dev/TwinCertificate/v1";

struct VerifiedCertificate {
  Statement statement;
  std::string keyid;
  absl::Time issued_at;
};

// Signs `statement` (its predicate must be a TwinCertificate predicate) as
// a certificate: sets predicate.issued_at and predicate.keyid first.
[[nodiscard]] absl::StatusOr<DsseEnvelope> SignCertificate(
    Statement statement, absl::Time issued_at, const SigningKey& key);

// UNAUTHENTICATED when no signature verifies with a certificate key of
// `root`; PERMISSION_DENIED when the key was not valid at the issue time
// (rotated out, not yet valid); INVALID_ARGUMENT naming the field when the
// payload is not a well-formed certificate.
[[nodiscard]] absl::StatusOr<VerifiedCertificate> VerifyCertificate(
    const DsseEnvelope& envelope, const TrustRoot& root);

// A file the verifier holds, by path and lower-case hex SHA-256.
struct HeldFile {
  std::string path;
  std::string sha256;
};

struct FileReport {
  // For each held file, the subject name it matches, or nullopt.
  std::vector<std::pair<HeldFile, std::optional<std::string>>> files;
  // Subjects no held file matches.
  std::vector<Subject> missing;
  // Every subject has a file (the statement's set digest was checked when
  // it was parsed, so this is the whole committed set).
  bool complete = false;
};

[[nodiscard]] FileReport MatchFiles(const Statement& statement,
                                    const std::vector<HeldFile>& files);

}  // namespace loupe::crypto
