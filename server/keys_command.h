#pragma once

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "crypto/key_file.h"

namespace loupe::server {

struct KeysInitOptions {
  std::string dir;     // Where the three files go.
  std::string origin;  // e.g. "registry.example/loupe"
  crypto::PassphraseSource passphrase;
  crypto::KdfCost kdf_cost = crypto::kKdfModerate;
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

}  // namespace loupe::server
