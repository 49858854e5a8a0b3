#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace loupe::client {

struct VerifyOptions {
  // Positional arguments: the first is a bundle; each other one is a bundle
  // if it looks like one (LooksLikeBundle), otherwise a file to check.
  std::vector<std::string> arguments;
  std::vector<std::string> bundles;
  std::string root;                // The trust root the verifier holds.
  std::vector<std::string> files;  // Files to check against the subjects.
  std::string dir;                 // Or every regular file under it.
  bool json = false;
  // Accept bundles without a log proof (older bundles); off by default.
  bool allow_unlogged = false;
  // The oldest status statement accepted; when set, a bundle without one
  // (and without --online) fails.
  std::optional<absl::Duration> max_status_age;
  // --online: fetches a fresh signed status statement (DSSE JSON) of a
  // piece from the registry; it replaces any stapled one.
  std::function<absl::StatusOr<std::string>(const std::string& piece_id)>
      fetch_status;
  absl::Time now = absl::Now();
};

// Parses an age such as "30d", "12h", "90m", "45s" or "2w".
// INVALID_ARGUMENT otherwise.
[[nodiscard]] absl::StatusOr<absl::Duration> ParseAge(std::string_view text);

// True if the file at `path` starts (after white space) with a JSON object
// whose first key is "certificate", as every bundle does, even a truncated
// one.
[[nodiscard]] bool LooksLikeBundle(const std::string& path);

// `loupe verify`, offline unless fetch_status is set. For each bundle:
// follows the trust-root rotations it carries from `root`, verifies the
// certificate, its log inclusion (the entry rebuilt from the certificate,
// the inclusion proof, the checkpoint signed by a checkpoint key), the
// piece's status statement if stapled or fetched (signed, for this piece,
// not older than max_status_age, and "active": revoked, suspended, lost and
// stolen fail with the reason), and matches the files to its subjects. Writes a
// report (or one JSON object) to `out` and errors to `err`. Returns 0 when
// every certificate is valid and every file matches a subject, 1 otherwise
// (with the reason), 2 when the root or a file cannot be read.
[[nodiscard]] int RunVerify(const VerifyOptions& options, std::ostream& out,
                            std::ostream& err);

}  // namespace loupe::client
