#pragma once

// `loupe-server witness`: runs a witness (witness.h) in this process, and
// `loupe-server witness init`: makes its key. The witness shares nothing
// with a registry but the HTTP transport: its own key, state and config.

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/key_file.h"
#include "loupe/v1/config.pb.h"

namespace loupe::witness {

inline constexpr char kWitnessPassphraseEnv[] = "LOUPE_WITNESS_PASSPHRASE";

// The command line; each flag overrides the config file's option.
struct WitnessFlags {
  std::string config_path;
  std::string name, key_file, passphrase_file, state_dir, listen;
  std::vector<std::string> logs;  // "origin=<64 hex key>", repeatable.
  bool allow_plaintext = false;
  std::string port_file;  // Gets the bound port once listening.
};

// The config file (if any) with the flags applied and defaults filled in.
// INVALID_ARGUMENT naming the option: a missing name, key_file, state_dir or
// http.listen_address, no log, a --log that is not origin=hex, TLS missing
// without allow_plaintext.
[[nodiscard]] absl::StatusOr<v1::WitnessServerConfig> WitnessConfig(
    const WitnessFlags& flags);

// Serves until SIGTERM or SIGINT. Returns the exit code: 0 after a clean
// stop, 2 for a bad configuration, 1 if it cannot start (the reason on
// `err`).
[[nodiscard]] int RunWitness(const WitnessFlags& flags, std::ostream& out,
                             std::ostream& err);

struct WitnessInitOptions {
  std::string key_file;  // Written 0600; never overwritten.
  std::string name;      // The witness's key name.
  crypto::PassphraseSource passphrase;
  crypto::KdfCost kdf_cost = crypto::kKdfModerate;
};

// Creates the witness's encrypted key and prints what its logs and
// verifiers need: the name, the public key (hex), the trust-root entry and
// the registry config lines. ALREADY_EXISTS if the file exists;
// INVALID_ARGUMENT for a bad name.
[[nodiscard]] absl::Status InitWitnessKey(const WitnessInitOptions& options,
                                          std::ostream& out);

}  // namespace loupe::witness
