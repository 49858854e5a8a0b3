#pragma once

#include <ostream>
#include <string>

#include "absl/status/status.h"

namespace loupe::server {

// Prints a fresh bearer token and the line to put in a principal's config.
void PrintNewToken(std::ostream& out);

// Creates a development registry in `dir`: `dir`/loupe.conf (data in
// `dir`/db, listening on `listen_address`) with five principals (studios
// aurum and bellini, jeweler bench granted aurum's files, insurer, admin),
// and `dir`/dev-tokens.env (mode 0600) with their tokens, which are also
// printed to `out`, once. ALREADY_EXISTS if `dir`/loupe.conf exists.
[[nodiscard]] absl::Status InitDevDataDir(const std::string& dir,
                                          const std::string& listen_address,
                                          std::ostream& out);

}  // namespace loupe::server
