#include "server/witness/witness_command.h"

#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/file.h"
#include "base/str_cat.h"
#include "crypto/cosignature.h"
#include "crypto/sha256.h"
#include "proto/text_proto.h"
#include "server/http/http_server.h"
#include "server/witness/witness.h"

namespace loupe::witness {
namespace {

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(std::string(what));
}

absl::StatusOr<v1::WitnessServerConfig> LoadFile(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return Bad(StrCat("--config: ", text.status().message()));
  v1::WitnessServerConfig config;
  if (auto s = ParseTextProto(*text, &config); !s.ok()) {
    return Bad(StrCat(path, ": ", s.message()));
  }
  return config;
}

// "origin=hex" into the config's logs (a second key for an origin joins
// its entry).
absl::Status AddLogFlag(const std::string& flag,
                        v1::WitnessServerConfig* config) {
  const size_t eq = flag.rfind('=');
  if (eq == std::string::npos || eq == 0) {
    return Bad(StrCat("--log ", flag, ": expected ORIGIN=<64 hex public key>"));
  }
  const std::string origin = flag.substr(0, eq);
  for (auto& log : *config->mutable_logs()) {
    if (log.origin() == origin) {
      log.add_public_keys(flag.substr(eq + 1));
      return absl::OkStatus();
    }
  }
  auto* log = config->add_logs();
  log->set_origin(origin);
  log->add_public_keys(flag.substr(eq + 1));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<WitnessedLog>> Logs(
    const v1::WitnessServerConfig& config) {
  std::vector<WitnessedLog> logs;
  for (int i = 0; i < config.logs_size(); ++i) {
    WitnessedLog log{config.logs(i).origin(), {}};
    for (const auto& hex : config.logs(i).public_keys()) {
      auto key = crypto::ParsePublicKeyHex(hex);
      if (!key.ok()) {
        return Bad(StrCat("logs[", i, "] (", log.origin,
                          ").public_keys: not 64 hex: ", hex));
      }
      log.keys.push_back(*key);
    }
    logs.push_back(std::move(log));
  }
  return logs;
}

}  // namespace

absl::StatusOr<v1::WitnessServerConfig> WitnessConfig(
    const WitnessFlags& flags) {
  v1::WitnessServerConfig config;
  if (!flags.config_path.empty()) {
    auto loaded = LoadFile(flags.config_path);
    if (!loaded.ok()) return loaded.status();
    config = *std::move(loaded);
  }
  if (!flags.name.empty()) config.set_name(flags.name);
  if (!flags.key_file.empty()) config.set_key_file(flags.key_file);
  if (!flags.passphrase_file.empty()) {
    config.set_passphrase_file(flags.passphrase_file);
  }
  if (!flags.state_dir.empty()) config.set_state_dir(flags.state_dir);
  if (!flags.listen.empty()) {
    config.mutable_http()->set_listen_address(flags.listen);
  }
  if (flags.allow_plaintext) config.set_allow_plaintext(true);
  for (const auto& log : flags.logs) {
    if (auto s = AddLogFlag(log, &config); !s.ok()) return s;
  }
  if (!crypto::ValidKeyName(config.name())) {
    return Bad(
        "name: required, a key name such as witness.example/w1 (no "
        "spaces or \"+\")");
  }
  if (config.key_file().empty()) return Bad("key_file: required (--key)");
  if (config.state_dir().empty()) {
    return Bad("state_dir: required (--state-dir)");
  }
  if (config.logs().empty()) {
    return Bad("logs: at least one (--log ORIGIN=<hex public key>)");
  }
  if (auto logs = Logs(config); !logs.ok()) return logs.status();
  auto* http = config.mutable_http();
  if (http->listen_address().empty()) {
    return Bad("http.listen_address: required (--listen host:port)");
  }
  if (http->threads() == 0) http->set_threads(2);
  if (http->read_timeout_ms() == 0) http->set_read_timeout_ms(10000);
  if (http->max_header_bytes() == 0) http->set_max_header_bytes(8 << 10);
  // 63 proof lines and a checkpoint with a few signatures fit easily.
  if (http->max_body_bytes() == 0) http->set_max_body_bytes(16 << 10);
  if (!config.allow_plaintext() &&
      (config.tls().cert_file().empty() || config.tls().key_file().empty())) {
    return Bad(
        "tls: cert_file and key_file are required (or allow_plaintext, "
        "--allow-plaintext, behind a TLS proxy or for tests)");
  }
  return config;
}

int RunWitness(const WitnessFlags& flags, std::ostream& out,
               std::ostream& err) {
  auto config = WitnessConfig(flags);
  if (!config.ok()) {
    err << "loupe-server witness: " << config.status().message() << "\n";
    return 2;
  }
  auto fail = [&](const absl::Status& s, int code = 1) {
    err << "loupe-server witness: " << s.message() << "\n";
    return code;
  };
  auto key_text = ReadFileToString(config->key_file());
  if (!key_text.ok()) return fail(key_text.status(), 2);
  crypto::PassphraseSource source;
  source.file = config->passphrase_file();
  source.env_var = kWitnessPassphraseEnv;
  source.allow_prompt = false;
  auto passphrase = crypto::ReadPassphrase(source);
  if (!passphrase.ok()) return fail(passphrase.status(), 2);
  auto key = crypto::OpenSigningKey(*key_text, passphrase->view());
  if (!key.ok()) {
    return fail(absl::InvalidArgumentError(
                    StrCat("key_file: ", key.status().message())),
                2);
  }
  auto state = WitnessState::Open(config->state_dir());
  if (!state.ok()) return fail(state.status());
  server::http::Metrics metrics;
  Witness::Options options;
  options.name = config->name();
  options.logs = *Logs(*config);
  options.state = *std::move(state);
  options.metrics = &metrics;
  auto witness = Witness::Create(std::move(options), *std::move(key));
  if (!witness.ok()) return fail(witness.status(), 2);

  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  auto server = server::http::HttpServer::Start(config->http(), config->tls(),
                                                witness->get(), &metrics);
  if (!server.ok()) return fail(server.status());
  const int port = (*server)->port();
  if (!flags.port_file.empty()) {
    std::ofstream(flags.port_file + ".tmp") << port << "\n";
    std::rename((flags.port_file + ".tmp").c_str(), flags.port_file.c_str());
  }
  const crypto::PublicKey& pub = (*witness)->public_key();
  out << "loupe-server witness: " << config->name() << " (public key "
      << crypto::ToHex(pub.data(), pub.size()) << ") witnessing "
      << config->logs_size() << " log(s) on port " << port << std::endl;
  int sig = 0;
  sigwait(&stop, &sig);
  out << "loupe-server witness: signal " << sig << ", stopping" << std::endl;
  (*server)->Shutdown();
  return 0;
}

absl::Status InitWitnessKey(const WitnessInitOptions& o, std::ostream& out) {
  if (!crypto::ValidKeyName(o.name)) {
    return Bad(
        "--name: a key name such as witness.example/w1 (no spaces or "
        "\"+\")");
  }
  if (std::filesystem::exists(o.key_file)) {
    return absl::AlreadyExistsError(
        StrCat(o.key_file, " exists; not overwriting a witness key"));
  }
  auto passphrase = crypto::ReadPassphrase(o.passphrase);
  if (!passphrase.ok()) return passphrase.status();
  auto key = crypto::SigningKey::Generate();
  if (!key.ok()) return key.status();
  auto sealed = crypto::SealSigningKey(*key, passphrase->view(), o.kdf_cost);
  if (!sealed.ok()) return sealed.status();
  {
    const mode_t old_mask = ::umask(077);
    std::ofstream file(o.key_file, std::ios::trunc);
    file << *sealed;
    file.close();
    ::umask(old_mask);
    if (!file) return absl::InternalError(StrCat(o.key_file, ": write failed"));
  }
  ::chmod(o.key_file.c_str(), 0600);
  const std::string hex =
      crypto::ToHex(key->public_key().data(), key->public_key().size());
  out << "Created the witness key " << o.key_file << " for " << o.name
      << ".\n  public key: " << hex
      << "\nTrust root entry (loupe-server keys init/witnesses --witness):\n  "
      << o.name << "=" << hex << "\nRegistry config (witnessing):\n"
      << "  witnesses { name: '" << o.name << "' public_key: '" << hex
      << "' url: 'https://<this witness's host:port>' }\n";
  return absl::OkStatus();
}

}  // namespace loupe::witness
