#include "server/ops/dev_setup.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "base/file.h"
#include "base/str_cat.h"
#include "crypto/random.h"
#include "crypto/sha256.h"
#include "server/ops/keys_command.h"

namespace loupe::server {
namespace {

struct DevPrincipal {
  const char* id;
  const char* role;
  const char* studio;
  const char* readers;   // asset_readers line, or "".
  const char* insurers;  // insurers line, or "".
  std::string token;
};

}  // namespace

void PrintNewToken(std::ostream& out) {
  const std::string token = crypto::NewBearerToken();
  out << "token:        " << token << "\n"
      << "config line:  token_sha256: \"" << crypto::Sha256::HexOf(token)
      << "\"\n"
      << "Give the token to its holder; keep only the hash in the config.\n";
}

absl::Status InitDevDataDir(const std::string& dir,
                            const std::string& listen_address,
                            const std::string& tls_dir, std::ostream& out) {
  namespace fs = std::filesystem;
  const fs::path config_path = fs::path(dir) / "loupe.conf";
  if (fs::exists(config_path)) {
    return absl::AlreadyExistsError(
        StrCat(config_path.string(), " exists; keeping it"));
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        StrCat("cannot create ", dir, ": ", ec.message()));
  }
  std::vector<DevPrincipal> principals = {
      {"studio-aurum", "ROLE_STUDIO", "aurum", "bench", "insurer", {}},
      {"studio-bellini", "ROLE_STUDIO", "bellini", "", "", {}},
      {"bench", "ROLE_JEWELER", "", "", "", {}},
      {"insurer", "ROLE_INSURER", "", "", "", {}},
      {"admin", "ROLE_ADMIN", "", "", "", {}},
  };
  std::string config = StrCat(
      "# Development configuration written by `loupe-server init-dev`.\n"
      "# Tokens are in dev-tokens.env beside this file; only hashes here.\n",
      "data_dir: \"", fs::absolute(fs::path(dir) / "db").string(), "\"\n",
      "listen_address: \"", listen_address, "\"\n");
  if (tls_dir.empty()) {
    absl::StrAppend(&config,
                    "# Plain text: no TLS directory was given to init-dev.\n"
                    "allow_plaintext: true\n");
  } else {
    const std::string t = fs::absolute(tls_dir).string();
    absl::StrAppend(&config, "tls {\n  cert_file: \"", t,
                    "/server.pem\"\n  key_file: \"", t,
                    "/server.key\"\n  client_ca_file: \"", t, "/ca.pem\"\n}\n");
  }
  std::string env = "# Development tokens (keep private).\n";
  for (auto& p : principals) {
    p.token = crypto::NewBearerToken();
    absl::StrAppend(&config, "principals {\n  id: \"", p.id,
                    "\"\n  role: ", p.role, "\n");
    if (*p.studio)
      absl::StrAppend(&config, "  studio_id: \"", p.studio, "\"\n");
    absl::StrAppend(&config, "  token_sha256: \"",
                    crypto::Sha256::HexOf(p.token), "\"\n");
    if (!tls_dir.empty()) {
      absl::StrAppend(&config, "  client_certificate_names: \"", p.id, "\"\n");
    }
    if (*p.readers) {
      absl::StrAppend(&config, "  asset_readers: \"", p.readers, "\"\n");
    }
    if (*p.insurers) {
      absl::StrAppend(&config, "  insurers: \"", p.insurers, "\"\n");
    }
    absl::StrAppend(&config, "}\n");
    std::string var = StrCat("LOUPE_TOKEN_", p.id);
    for (char& c : var) c = c == '-' ? '_' : absl::ascii_toupper(c);
    absl::StrAppend(&env, var, "=", p.token, "\n");
  }
  // Development signing keys: the passphrase sits in a 0600 file beside
  // them (never do this in production: see docs/operations.md).
  const fs::path keys = fs::absolute(fs::path(dir) / "keys");
  const fs::path passphrase = fs::absolute(fs::path(dir) / "dev-passphrase");
  if (auto s =
          WriteFileSynced(passphrase.string(), crypto::NewBearerToken() + "\n",
                          0600, IfExists::kReplace);
      !s.ok()) {
    return s;
  }
  KeysInitOptions key_options{
      keys.string(), "dev.loupe.local/registry", {}, crypto::kKdfInteractive};
  key_options.passphrase.file = passphrase.string();
  key_options.passphrase.allow_prompt = false;
  std::ostringstream key_report;
  if (auto s = InitKeys(key_options, key_report); !s.ok()) return s;
  absl::StrAppend(&config, "signing {\n  key_file: \"",
                  (keys / "signing-key.json").string(),
                  "\"\n  passphrase_file: \"", passphrase.string(),
                  "\"\n  root_files: \"", (keys / "root.json").string(),
                  "\"\n}\n");
  const fs::path env_path = fs::path(dir) / "dev-tokens.env";
  if (auto s =
          WriteFileSynced(env_path.string(), env, 0600, IfExists::kReplace);
      !s.ok()) {
    return s;
  }
  std::ofstream config_file(config_path, std::ios::trunc);
  config_file << config;
  if (!config_file) return absl::InternalError("cannot write loupe.conf");
  out << key_report.str();
  out << "Created " << config_path.string() << " with development tokens "
      << "(shown once; also in " << env_path.string() << ", mode 0600):\n"
      << env;
  return absl::OkStatus();
}

}  // namespace loupe::server
