#include "server/keys_command.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/time/clock.h"
#include "base/str_cat.h"
#include "crypto/trust_root.h"

namespace loupe::server {
namespace {

namespace fs = std::filesystem;

absl::Status WriteFile(const fs::path& path, const std::string& contents,
                       bool secret) {
  std::ofstream out(path, std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return absl::InternalError(StrCat(path.string(), ": write failed"));
  if (secret) ::chmod(path.c_str(), 0600);
  return absl::OkStatus();
}

}  // namespace

absl::Status InitKeys(const KeysInitOptions& o, std::ostream& out) {
  if (o.origin.empty() ||
      o.origin.find_first_of(" \n\t") != std::string::npos) {
    return absl::InvalidArgumentError(
        "--origin: a name without spaces, e.g. registry.example/loupe");
  }
  const fs::path dir(o.dir);
  for (const char* name : {"root-key.json", "signing-key.json", "root.json"}) {
    if (fs::exists(dir / name)) {
      return absl::AlreadyExistsError(
          StrCat((dir / name).string(), " exists; not overwriting keys"));
    }
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return absl::FailedPreconditionError(StrCat(o.dir, ": ", ec.message()));
  auto passphrase = crypto::ReadPassphrase(o.passphrase);
  if (!passphrase.ok()) return passphrase.status();
  auto root_key = crypto::SigningKey::Generate();
  auto signing_key = crypto::SigningKey::Generate();
  if (!root_key.ok() || !signing_key.ok()) {
    return absl::InternalError("cannot generate keys");
  }
  const absl::Time now = absl::Now();
  const absl::Time today = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  crypto::TrustRoot root{
      o.origin,
      1,
      1,
      {{root_key->public_key(), {crypto::kRoleRoot}, today, std::nullopt},
       {signing_key->public_key(),
        {crypto::kRoleCertificate, crypto::kRoleCheckpoint},
        today,
        std::nullopt}}};
  auto envelope = crypto::SignRoot(root, {&*root_key});
  if (!envelope.ok()) return envelope.status();
  auto sealed_root =
      crypto::SealSigningKey(*root_key, passphrase->view(), o.kdf_cost);
  if (!sealed_root.ok()) return sealed_root.status();
  auto sealed_signing =
      crypto::SealSigningKey(*signing_key, passphrase->view(), o.kdf_cost);
  if (!sealed_signing.ok()) return sealed_signing.status();
  for (auto s : {WriteFile(dir / "root-key.json", *sealed_root, true),
                 WriteFile(dir / "signing-key.json", *sealed_signing, true),
                 WriteFile(dir / "root.json",
                           crypto::EnvelopeToJson(*envelope) + "\n", false)}) {
    if (!s.ok()) return s;
  }
  out << "Created the keys and trust root v1 of " << o.origin << " in " << o.dir
      << ":\n"
      << "  root-key.json     root key "
      << crypto::KeyId(root_key->public_key()) << " (keep offline)\n"
      << "  signing-key.json  certificate/checkpoint key "
      << crypto::KeyId(signing_key->public_key()) << "\n"
      << "  root.json         trust root v1: give it to verifiers\n";
  return absl::OkStatus();
}

}  // namespace loupe::server
