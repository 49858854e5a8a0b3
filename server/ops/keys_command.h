#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "crypto/key_file.h"

namespace loupe::server {

struct KeysInitOptions {
  std::string dir;     // Where the three files go.
  std::string origin;  // e.g. "registry.example/loupe"
  crypto::PassphraseSource passphrase;
  crypto::KdfCost kdf_cost = crypto::kKdfModerate;
  // The root's witnesses ("name=<64 hex public key>") and how many must
  // cosign a checkpoint (0 = no policy).
  std::vector<std::string> witnesses = {};
  uint32_t witness_threshold = 0;
};

// Creates the registry's keys and first trust root in `dir`:
//   root-key.json     the root key (signs trust roots), encrypted
//   signing-key.json  the certificate and checkpoint key, encrypted
//   root.json         trust root v1, signed by the root key (public: give it
//                     to verifiers)
// Both key files use the same passphrase. ALREADY_EXISTS if any of the
// files exists (nothing is overwritten); INVALID_ARGUMENT for a bad origin.
[[nodiscard]] absl::Status InitKeys(const KeysInitOptions& options,
                                    std::ostream& out);

struct KeysRotateOptions {
  std::string dir;  // A directory made by InitKeys.
  crypto::PassphraseSource passphrase;
  crypto::KdfCost kdf_cost = crypto::kKdfModerate;
};

// Rotates the signing key in `dir`: verifies the root chain (root.json,
// root-v2.json, ...), retires the current signing key (valid_until = now;
// what it signed before stays valid), adds a new one valid from now, and
// writes root-v<N+1>.json signed by the root key, the new signing-key.json,
// and the old key as signing-key-retired-v<N>.json. The server then needs
// the new root in signing.root_files and a restart.
[[nodiscard]] absl::Status RotateSigningKey(const KeysRotateOptions& options,
                                            std::ostream& out);

struct KeysWitnessesOptions {
  std::string dir;  // A directory made by InitKeys.
  crypto::PassphraseSource passphrase;
  std::vector<std::string> witnesses;  // "name=<64 hex>"; replaces the list.
  uint32_t witness_threshold = 0;
};

// Changes the root's witnesses and witness policy: verifies the root
// chain, and writes root-v<N+1>.json (the same keys, the new witnesses)
// signed by the root key. INVALID_ARGUMENT naming the flag for a malformed
// witness or a threshold above their number.
[[nodiscard]] absl::Status SetRootWitnesses(const KeysWitnessesOptions& options,
                                            std::ostream& out);

}  // namespace loupe::server
