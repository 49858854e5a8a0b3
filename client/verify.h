#pragma once

#include <ostream>
#include <string>
#include <vector>

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
};

// True if the file at `path` starts (after white space) with a JSON object
// whose first key is "certificate", as every bundle does, even a truncated
// one.
[[nodiscard]] bool LooksLikeBundle(const std::string& path);

// `loupe verify`, fully offline. For each bundle: follows the trust-root
// rotations it carries from `root`, verifies the certificate, and matches
// the files to its subjects. Writes a report (or one JSON object) to `out`
// and errors to `err`. Returns 0 when every certificate is valid and every
// file matches a subject, 1 otherwise (with the reason), 2 when the root or
// a file cannot be read.
[[nodiscard]] int RunVerify(const VerifyOptions& options, std::ostream& out,
                            std::ostream& err);

}  // namespace loupe::client
