#pragma once

// Tests only: a registry's keys and trust root v1 written to files, as
// `loupe-server keys init` would, so that a test can load a
// CertificateSigner from them (or fail to, with the roles it chose).

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/key_file.h"
#include "crypto/trust_root.h"
#include "loupe/v1/config.pb.h"

namespace loupe::server {

inline constexpr char kTestOrigin[] = "registry.test/loupe";

struct SignerFilesForTests {
  crypto::SigningKey root_key;
  crypto::SigningKey signing_key;
  crypto::TrustRoot root;
  v1::SigningConfig config;  // Names the files written.
};

// Writes root.json, signing-key.json and passphrase into `dir` (which must
// exist): a root key, and a signing key with `roles` valid from
// `valid_from`.
inline SignerFilesForTests WriteSignerFilesForTests(
    const std::filesystem::path& dir,
    std::vector<std::string> roles = {crypto::kRoleCertificate,
                                      crypto::kRoleCheckpoint},
    absl::Time valid_from = absl::FromUnixSeconds(1700000000)) {
  SignerFilesForTests out{
      *crypto::SigningKey::Generate(), *crypto::SigningKey::Generate(), {}, {}};
  const absl::Time since = absl::FromUnixSeconds(1700000000);
  out.root = crypto::TrustRoot{
      kTestOrigin,
      1,
      1,
      {{out.root_key.public_key(), {crypto::kRoleRoot}, since, std::nullopt},
       {out.signing_key.public_key(), std::move(roles), valid_from,
        std::nullopt}}};
  std::ofstream(dir / "root.json")
      << crypto::EnvelopeToJson(*crypto::SignRoot(out.root, {&out.root_key}));
  std::ofstream(dir / "signing-key.json") << *crypto::SealSigningKey(
      out.signing_key, "test passphrase", crypto::kKdfInteractive);
  std::ofstream(dir / "passphrase") << "test passphrase\n";
  out.config.set_key_file((dir / "signing-key.json").string());
  out.config.set_passphrase_file((dir / "passphrase").string());
  out.config.add_root_files((dir / "root.json").string());
  return out;
}

}  // namespace loupe::server
