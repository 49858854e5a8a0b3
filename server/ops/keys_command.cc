#include "server/ops/keys_command.h"

#include <filesystem>

#include "absl/time/clock.h"
#include "base/file.h"
#include "base/str_cat.h"
#include "crypto/sha256.h"
#include "crypto/trust_root.h"

namespace loupe::server {
namespace {

namespace fs = std::filesystem;

// A secret is created 0600 (never readable by others, not even for a
// moment) and never over an existing file; a root is public (0644).
absl::Status WriteFile(const fs::path& path, const std::string& contents,
                       bool secret) {
  return secret
             ? WriteFileSynced(path.string(), contents, 0600, IfExists::kFail)
             : WriteFileSynced(path.string(), contents, 0644,
                               IfExists::kReplace);
}

// "name=<64 hex>" flags as the root's witnesses.
absl::StatusOr<std::vector<crypto::Cosigner>> ParseWitnesses(
    const std::vector<std::string>& flags) {
  std::vector<crypto::Cosigner> out;
  for (const auto& flag : flags) {
    const size_t eq = flag.rfind('=');
    auto key =
        eq == std::string::npos
            ? absl::StatusOr<crypto::PublicKey>(absl::InvalidArgumentError(""))
            : crypto::ParsePublicKeyHex(flag.substr(eq + 1));
    if (!key.ok() || !crypto::ValidKeyName(flag.substr(0, eq))) {
      return absl::InvalidArgumentError(
          StrCat("--witness ", flag,
                 ": expected NAME=<64 hex public key> (the "
                 "witness's `loupe-server witness init` prints it)"));
    }
    out.push_back({flag.substr(0, eq), *key});
  }
  return out;
}

// The verified chain in `dir` (root.json, root-v2.json, ...): the newest
// root.
absl::StatusOr<crypto::TrustRoot> LoadChain(const fs::path& dir) {
  std::vector<crypto::DsseEnvelope> chain;
  for (uint64_t v = 1;; ++v) {
    const fs::path path = dir / (v == 1 ? std::string("root.json")
                                        : StrCat("root-v", v, ".json"));
    if (!fs::exists(path)) break;
    auto text = ReadFileToString(path.string());
    if (!text.ok()) return text.status();
    auto envelope = crypto::EnvelopeFromJson(*text);
    if (!envelope.ok()) return envelope.status();
    chain.push_back(*std::move(envelope));
  }
  if (chain.empty()) {
    return absl::NotFoundError(
        StrCat(dir.string(), ": no root.json (keys init)"));
  }
  auto root = crypto::VerifyInitialRoot(chain.front());
  if (root.ok()) root = crypto::FollowRoots(*root, chain);
  return root;
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
  auto witnesses = ParseWitnesses(o.witnesses);
  if (!witnesses.ok()) return witnesses.status();
  if (o.witness_threshold > witnesses->size()) {
    return absl::InvalidArgumentError(
        "--witness-threshold: at most the number of --witness");
  }
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
  root.witnesses = *std::move(witnesses);
  root.witness_threshold = o.witness_threshold;
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
      << "  root.json         trust root v1: give it to verifiers\n"
      << "Witnesses follow the log with: --log " << o.origin << "="
      << crypto::ToHex(signing_key->public_key().data(), 32) << "\n";
  if (!root.witnesses.empty()) {
    out << "The root lists " << root.witnesses.size() << " witness(es); "
        << (root.witness_threshold == 0
                ? std::string("no witness policy")
                : StrCat(root.witness_threshold,
                         " must cosign each checkpoint"))
        << ".\n";
  }
  return absl::OkStatus();
}

absl::Status RotateSigningKey(const KeysRotateOptions& o, std::ostream& out) {
  const fs::path dir(o.dir);
  auto root = LoadChain(dir);
  if (!root.ok()) return root.status();
  auto passphrase = crypto::ReadPassphrase(o.passphrase);
  if (!passphrase.ok()) return passphrase.status();
  auto root_text = ReadFileToString((dir / "root-key.json").string());
  auto signing_text = ReadFileToString((dir / "signing-key.json").string());
  if (!root_text.ok()) return root_text.status();
  if (!signing_text.ok()) return signing_text.status();
  auto root_key = crypto::OpenSigningKey(*root_text, passphrase->view());
  if (!root_key.ok()) return root_key.status();
  auto old_key = crypto::OpenSigningKey(*signing_text, passphrase->view());
  if (!old_key.ok()) return old_key.status();
  auto new_key = crypto::SigningKey::Generate();
  if (!new_key.ok()) return new_key.status();

  const absl::Time now =
      absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  crypto::TrustRoot next = *root;
  next.version = root->version + 1;
  for (auto& key : next.keys) {
    if (key.public_key == old_key->public_key() && !key.valid_until) {
      if (now <= key.valid_from) {
        return absl::FailedPreconditionError(
            "the signing key became valid this second; rotate later");
      }
      key.valid_until = now;
    }
  }
  next.keys.push_back({new_key->public_key(),
                       {crypto::kRoleCertificate, crypto::kRoleCheckpoint},
                       now,
                       std::nullopt});
  auto envelope = crypto::SignRoot(next, {&*root_key});
  if (!envelope.ok()) return envelope.status();
  if (auto verified = crypto::VerifyNextRoot(*root, *envelope);
      !verified.ok()) {
    return verified.status();  // E.g. a threshold above one root key.
  }
  auto sealed =
      crypto::SealSigningKey(*new_key, passphrase->view(), o.kdf_cost);
  if (!sealed.ok()) return sealed.status();
  const fs::path new_root = dir / StrCat("root-v", next.version, ".json");
  const fs::path retired =
      dir / StrCat("signing-key-retired-v", root->version, ".json");
  std::error_code ec;
  fs::rename(dir / "signing-key.json", retired, ec);
  if (ec)
    return absl::InternalError(StrCat(retired.string(), ": ", ec.message()));
  for (auto s :
       {WriteFile(dir / "signing-key.json", *sealed, true),
        WriteFile(new_root, crypto::EnvelopeToJson(*envelope) + "\n", false)}) {
    if (!s.ok()) return s;
  }
  out << "Trust root v" << next.version << " written to " << new_root.string()
      << ":\n  retired key " << crypto::KeyId(old_key->public_key())
      << " (valid until now; kept as " << retired.filename().string()
      << ")\n  new signing key " << crypto::KeyId(new_key->public_key())
      << "\nAdd " << new_root.filename().string()
      << " to signing.root_files (after the older roots) and restart.\n";
  if (!next.witnesses.empty()) {
    out << "First give the witnesses the new checkpoint key: --log "
        << next.origin << "=" << crypto::ToHex(new_key->public_key().data(), 32)
        << "\n";
  }
  return absl::OkStatus();
}

absl::Status SetRootWitnesses(const KeysWitnessesOptions& o,
                              std::ostream& out) {
  const fs::path dir(o.dir);
  auto witnesses = ParseWitnesses(o.witnesses);
  if (!witnesses.ok()) return witnesses.status();
  if (o.witness_threshold > witnesses->size()) {
    return absl::InvalidArgumentError(
        "--witness-threshold: at most the number of --witness");
  }
  auto root = LoadChain(dir);
  if (!root.ok()) return root.status();
  auto passphrase = crypto::ReadPassphrase(o.passphrase);
  if (!passphrase.ok()) return passphrase.status();
  auto root_text = ReadFileToString((dir / "root-key.json").string());
  if (!root_text.ok()) return root_text.status();
  auto root_key = crypto::OpenSigningKey(*root_text, passphrase->view());
  if (!root_key.ok()) return root_key.status();
  crypto::TrustRoot next = *root;
  next.version = root->version + 1;
  next.witnesses = *std::move(witnesses);
  next.witness_threshold = o.witness_threshold;
  auto envelope = crypto::SignRoot(next, {&*root_key});
  if (!envelope.ok()) return envelope.status();
  if (auto verified = crypto::VerifyNextRoot(*root, *envelope);
      !verified.ok()) {
    return verified.status();
  }
  const fs::path new_root = dir / StrCat("root-v", next.version, ".json");
  if (auto s =
          WriteFile(new_root, crypto::EnvelopeToJson(*envelope) + "\n", false);
      !s.ok()) {
    return s;
  }
  out << "Trust root v" << next.version << " written to " << new_root.string()
      << ": " << next.witnesses.size() << " witness(es), "
      << (next.witness_threshold == 0
              ? std::string("no witness policy")
              : StrCat(next.witness_threshold, " must cosign each checkpoint"))
      << ".\nAdd " << new_root.filename().string()
      << " to signing.root_files (after the older roots) and restart.\n";
  return absl::OkStatus();
}

}  // namespace loupe::server
