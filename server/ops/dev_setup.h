#pragma once

#include <ostream>
#include <string>

#include "absl/status/status.h"

namespace loupe::server {

// Prints a fresh bearer token and the line to put in a principal's config.
void PrintNewToken(std::ostream& out);

// Creates a development registry in `dir`: `dir`/loupe.conf (data in
// `dir`/db, listening on `listen_address`) with five principals (studios
// aurum and bellini, jeweler bench granted aurum's files, insurer named
// by aurum as its insurer, admin), and `dir`/dev-tokens.env (mode 0600)
// with their tokens, which are also printed to `out`, once. ALREADY_EXISTS
// if `dir`/loupe.conf exists.
// With `tls_dir` (tools/dev_tls.sh: ca.pem, server.pem, server.key) gRPC
// and HTTP speak TLS, and client certificates of that CA named after a
// principal identify it; without, the config allows plain text.
[[nodiscard]] absl::Status InitDevDataDir(const std::string& dir,
                                          const std::string& listen_address,
                                          const std::string& tls_dir,
                                          std::ostream& out);

}  // namespace loupe::server
