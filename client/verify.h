#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/log_entry.h"

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
  // The oldest fetched statement accepted when max_status_age is not set:
  // the registry signs it when asked, so an older one is a replay.
  absl::Duration online_max_age = absl::Minutes(10);
  // --online: fetches the certificate's current bundle (JSON) by id; its
  // log proof and trust-root chain replace the held ones (which may be
  // vouched for only by a key retired since), once its certificate is
  // shown to be the held one.
  std::function<absl::StatusOr<std::string>(const std::string& certificate_id)>
      fetch_bundle;
  // --log-url: the log's static copy (client/static_log.h). After the held
  // proof is checked, static_log_proof(index, held checkpoint if it
  // verified, entry) gives a proof against the copy's checkpoint, which
  // is then verified like the held one and replaces it; static_roots gives
  // the copy's trust roots, followed like a bundle's.
  std::function<absl::StatusOr<crypto::LogProof>(
      uint64_t index, const std::optional<crypto::Checkpoint>& held,
      std::string_view entry)>
      static_log_proof;
  std::function<absl::StatusOr<std::vector<std::string>>()> static_roots;
  // --all-files: fail unless every subject of every certificate was given
  // and matched (for insurers who hold the whole set).
  bool all_files = false;
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
// the inclusion proof, the checkpoint signed by a key whose checkpoint role
// is valid at `now`; with fetch_bundle the proof is fetched fresh), the
// piece's status statement if stapled or fetched (signed, for this piece,
// not older than max_status_age, and "active": revoked, suspended, lost and
// stolen fail with the reason; a fetched one must also be fresh and never
// of a lower status sequence than the stapled one), and matches the files
// to its subjects (all of them with all_files). Writes a
// report (or one JSON object) to `out` and errors to `err`. Returns 0 when
// every certificate is valid and every file matches a subject, 1 otherwise
// (with the reason), 2 when the root or a file cannot be read.
[[nodiscard]] int RunVerify(const VerifyOptions& options, std::ostream& out,
                            std::ostream& err);

}  // namespace loupe::client
