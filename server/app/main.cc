// loupe-server: the Loupe registry. Thin: flags, signals, and RegistryServer.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "server/app/config.h"
#include "server/app/server.h"
#include "server/ops/dev_setup.h"
#include "server/ops/keys_command.h"
#include "server/ops/migrate.h"
#include "server/ops/migrate_assets.h"
#include "server/ops/restore.h"
#include "server/storage/open_store.h"
#include "server/witness/witness_command.h"

namespace {

// 0 for OK; else prints the reason and returns 2 for bad arguments, 1 for
// anything else.
int ExitCode(const absl::Status& s) {
  if (s.ok()) return 0;
  std::cerr << "loupe-server: " << s.message() << "\n";
  return absl::IsInvalidArgument(s) ? 2 : 1;
}

// `loupe-server migrate`: the two stores' configs, then the copy.
absl::Status Migrate(const std::string& from, const std::string& to,
                     const std::string& to_config) {
  if (to.empty() == to_config.empty()) {
    return absl::InvalidArgumentError(
        "migrate: give exactly one of --to URL and --to-config FILE");
  }
  loupe::v1::ServerConfig source;
  source.set_data_dir(from);
  loupe::v1::ServerConfig destination;
  if (!to.empty()) {
    if (!to.starts_with("postgres://") && !to.starts_with("postgresql://")) {
      return absl::InvalidArgumentError(
          "--to: a postgres:// or postgresql:// URL");
    }
    destination.mutable_storage()->mutable_postgres()->set_url(to);
  } else {
    auto loaded = loupe::server::LoadConfigFile(to_config);
    if (!loaded.ok()) {
      return absl::InvalidArgumentError(loaded.status().message());
    }
    destination = *std::move(loaded);
    if (!destination.storage().has_postgres()) {
      return absl::InvalidArgumentError(
          "--to-config: the config names no storage { postgres {} }");
    }
  }
  destination.mutable_storage()->mutable_postgres()->set_apply_migrations(true);
  return loupe::server::MigrateRegistry(source, destination, std::cout);
}

int Serve(const std::string& config_path, const std::string& data_dir,
          const std::string& listen, const std::string& http_listen,
          const std::string& port_file) {
  using loupe::server::FinishConfig;
  loupe::v1::ServerConfig config;
  if (!config_path.empty()) {
    auto loaded = loupe::server::LoadConfigFile(config_path);
    if (!loaded.ok()) {
      std::cerr << "loupe-server: " << loaded.status().message() << "\n";
      return 2;
    }
    config = *std::move(loaded);
  }
  if (!data_dir.empty()) config.set_data_dir(data_dir);
  if (!listen.empty()) config.set_listen_address(listen);
  if (!http_listen.empty()) {
    config.mutable_http()->set_listen_address(http_listen);
  }
  if (auto s = FinishConfig(&config); !s.ok()) {
    std::cerr << "loupe-server: " << s.message() << "\n";
    return 2;
  }
  if (config.principals().empty()) {
    std::cerr << "loupe-server: warning: no principals configured; every "
                 "call will be refused as UNAUTHENTICATED\n";
  }
  // Block the stop signals before any thread starts, so that only the
  // signal thread below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto server = loupe::server::RegistryServer::Start(config);
  if (!server.ok()) {
    std::cerr << "loupe-server: " << server.status() << "\n";
    return 1;
  }
  const int port = (*server)->port();
  const int http_port = (*server)->http_port();
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << port << "\n" << http_port << "\n";
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  std::cout << "loupe-server: listening on port " << port << " (data in "
            << config.data_dir() << ")" << std::endl;
  if (http_port != 0) {
    std::cout << "loupe-server: HTTP gateway on port " << http_port
              << std::endl;
  }
  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::cout << "loupe-server: signal " << sig << ", shutting down"
              << std::endl;
    (*server)->Shutdown();
  });
  (*server)->Wait();
  signals.join();
  server->reset();  // Store closed: everything acknowledged is on disk.
  std::cout << "loupe-server: stopped" << std::endl;
  // Library static destructors (gRPC, the storage engine's thread pools) take
  // seconds at exit and guard nothing of ours any more.
  std::fflush(nullptr);
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "loupe-server: the Loupe provenance and digital-twin registry.\n"
      "Serves gRPC (loupe.v1.RegistryService, health, reflection) on the "
      "store configured in `storage` (by default embedded in data_dir). "
      "Stops cleanly on SIGTERM or SIGINT."};
  std::string config_path, data_dir, listen, http_listen, port_file;
  app.add_option("-c,--config", config_path,
                 "configuration file (protobuf text format; see "
                 "deploy/loupe.conf.example)");
  app.add_option("--data-dir", data_dir, "data directory (overrides config)");
  app.add_option("--listen", listen,
                 "host:port to listen on (overrides config; port 0 = any)");
  app.add_option("--http-listen", http_listen,
                 "host:port for the HTTP gateway (overrides config; port 0 = "
                 "any; off unless set here or in the config)");
  app.add_option("--port-file", port_file,
                 "write the bound gRPC port, then the HTTP port (0 if off), "
                 "one per line, to this file once listening");

  auto* new_token = app.add_subcommand(
      "new-token", "print a new bearer token and its config line");
  auto* init_dev = app.add_subcommand(
      "init-dev", "create a development data directory, config and tokens");
  std::string dev_dir;
  std::string dev_listen = loupe::server::kDefaultListenAddress;
  init_dev->add_option("dir", dev_dir, "directory to create")->required();
  init_dev->add_option("--listen", dev_listen, "listen address for the config");
  std::string dev_tls;
  init_dev->add_option(
      "--tls-dir", dev_tls,
      "TLS files from tools/dev_tls.sh (ca.pem, server.pem, server.key); "
      "without it the config allows plain text");

  auto* keys = app.add_subcommand("keys", "manage the registry's signing keys");
  keys->require_subcommand(1);
  auto* keys_init = keys->add_subcommand(
      "init",
      "create the root key, the certificate/checkpoint key (encrypted) and "
      "trust root v1 in DIR");
  loupe::server::KeysInitOptions keys_options;
  keys_init->add_option("dir", keys_options.dir, "directory for the key files")
      ->required();
  keys_init
      ->add_option("--origin", keys_options.origin,
                   "the registry's name, e.g. registry.example/loupe")
      ->required();
  keys_init->add_option("--passphrase-file", keys_options.passphrase.file,
                        "read the passphrase from this file (else "
                        "$LOUPE_KEY_PASSPHRASE, else a prompt)");
  keys_init->add_option("--witness", keys_options.witnesses,
                        "NAME=<64 hex public key> of a witness that cosigns "
                        "checkpoints; repeatable");
  keys_init->add_option("--witness-threshold", keys_options.witness_threshold,
                        "how many witnesses must cosign a checkpoint for "
                        "verifiers to accept it (default 0: no policy)");

  auto* keys_witnesses = keys->add_subcommand(
      "witnesses",
      "set the witnesses and witness policy, in trust root v<N+1> signed by "
      "the root key");
  loupe::server::KeysWitnessesOptions witnesses_options;
  keys_witnesses->add_option("dir", witnesses_options.dir, "the keys directory")
      ->required();
  keys_witnesses->add_option("--witness", witnesses_options.witnesses,
                             "NAME=<64 hex public key>; repeatable; replaces "
                             "the list (none: no witnesses)");
  keys_witnesses->add_option("--witness-threshold",
                             witnesses_options.witness_threshold,
                             "how many must cosign (default 0: no policy)");
  keys_witnesses->add_option("--passphrase-file",
                             witnesses_options.passphrase.file,
                             "the root key's passphrase (else "
                             "$LOUPE_KEY_PASSPHRASE, else a prompt)");

  auto* keys_rotate = keys->add_subcommand(
      "rotate",
      "retire the signing key in DIR and add a new one, in trust root v<N+1>");
  loupe::server::KeysRotateOptions rotate_options;
  keys_rotate->add_option("dir", rotate_options.dir, "the keys directory")
      ->required();
  keys_rotate->add_option("--passphrase-file", rotate_options.passphrase.file,
                          "read the passphrase from this file (else "
                          "$LOUPE_KEY_PASSPHRASE, else a prompt)");

  auto* check_config = app.add_subcommand(
      "check-config",
      "parse a configuration file and apply its defaults, without starting; "
      "exit 0 valid (prints it with every default), 2 invalid (names the "
      "option)");
  std::string check_path;
  check_config->add_option("file", check_path, "the configuration file")
      ->required();
  auto* scrub = app.add_subcommand(
      "scrub",
      "re-verify a stopped store (every asset digest, log entry and the log "
      "root against the signed checkpoint, version chains, certificates); "
      "changes nothing; exit 0 clean, 1 problems found (each named)");
  std::string scrub_dir, scrub_config;
  bool remove_orphans = false;
  auto* scrub_dir_option =
      scrub->add_option("--data-dir", scrub_dir, "the data directory");
  scrub
      ->add_option("-c,--config", scrub_config,
                   "the configuration file (any engine; with assets { s3 {} } "
                   "the bucket too)")
      ->excludes(scrub_dir_option);
  scrub->add_flag("--remove-orphans", remove_orphans,
                  "with assets { s3 {} }: delete objects no asset record "
                  "names and abort unfinished multipart uploads (older than "
                  "orphan_grace_seconds)");
  auto* restore = app.add_subcommand(
      "restore",
      "restore a backup (loupe admin backup) into a new data directory, then "
      "verify it as scrub does; exit 0 clean, 1 problems found");
  std::string backup_dir, restore_dir, restore_config;
  restore->add_option("backup", backup_dir, "the backup directory")->required();
  restore
      ->add_option("--data-dir", restore_dir,
                   "the new data directory (must not hold a store)")
      ->required();
  restore->add_option(
      "-c,--config", restore_config,
      "the configuration the restored registry will run with: with assets { "
      "s3 {} } the verification reads every cited object in the bucket too "
      "(its data_dir is replaced by --data-dir)");

  auto* migrate_schema = app.add_subcommand(
      "migrate-schema",
      "apply the schema migrations the configured database lacks (storage { "
      "postgres {} }); safe to run from several front ends at once; exit 0 "
      "migrated (prints the version), 1 failed (e.g. the database is newer)");
  std::string migrate_config;
  migrate_schema
      ->add_option("-c,--config", migrate_config, "the configuration file")
      ->required();

  auto* migrate = app.add_subcommand(
      "migrate",
      "copy a stopped RocksDB registry (--from DATA_DIR) into an empty "
      "PostgreSQL database (--to URL or --to-config FILE), then prove the "
      "copy (log root = the signed checkpoint's, counts, a clean scrub); exit "
      "0 proven, 1 failed, 2 usage");
  std::string migrate_from, migrate_to, migrate_to_config;
  migrate->add_option("--from", migrate_from, "the source data directory")
      ->required();
  migrate->add_option("--to", migrate_to,
                      "the destination's URL (postgres://... or "
                      "postgresql://...)");
  migrate->add_option("--to-config", migrate_to_config,
                      "a loupe-server config naming the destination "
                      "(storage { postgres {} })");

  auto* migrate_assets = app.add_subcommand(
      "migrate-assets",
      "move the asset bytes kept in the storage engine into the bucket the "
      "config's assets { s3 {} } names, each verified in the bucket before "
      "the engine's copy is freed; run again to resume; exit 0 done, 1 "
      "failed (names the asset), 2 usage");
  std::string migrate_assets_config;
  migrate_assets
      ->add_option("-c,--config", migrate_assets_config,
                   "the configuration file")
      ->required();

  auto* witness = app.add_subcommand(
      "witness",
      "run a transparency-log witness (C2SP tlog-witness): cosigns each "
      "checkpoint of the logs it follows that is consistent with the last one "
      "it cosigned, refuses forks; own key and state (docs/operations.md)");
  witness->require_subcommand(0, 1);
  loupe::witness::WitnessFlags witness_flags;
  witness->add_option("-c,--config", witness_flags.config_path,
                      "witness configuration (protobuf text format, "
                      "loupe.v1.WitnessServerConfig)");
  witness->add_option("--name", witness_flags.name,
                      "the witness's key name, e.g. witness.example/w1");
  witness->add_option("--key", witness_flags.key_file,
                      "its encrypted key (loupe-server witness init)");
  witness->add_option("--passphrase-file", witness_flags.passphrase_file,
                      "the key's passphrase (else $LOUPE_WITNESS_PASSPHRASE)");
  witness->add_option("--state-dir", witness_flags.state_dir,
                      "where the newest cosigned checkpoint of each log is "
                      "kept (durably)");
  witness->add_option("--listen", witness_flags.listen,
                      "host:port to serve on (port 0 = any)");
  witness->add_option("--log", witness_flags.logs,
                      "ORIGIN=<64 hex checkpoint public key> of a log to "
                      "witness; repeatable (a second key for an origin adds "
                      "to it)");
  witness->add_flag("--allow-plaintext", witness_flags.allow_plaintext,
                    "serve without TLS (behind a TLS proxy, or tests)");
  witness->add_option("--port-file", witness_flags.port_file,
                      "write the bound port to this file once listening");
  auto* witness_init = witness->add_subcommand(
      "init", "create a witness key (encrypted) and print its public key");
  loupe::witness::WitnessInitOptions witness_init_options;
  witness_init_options.passphrase.env_var =
      loupe::witness::kWitnessPassphraseEnv;
  witness_init
      ->add_option("key_file", witness_init_options.key_file,
                   "the key file to create")
      ->required();
  witness_init
      ->add_option("--name", witness_init_options.name,
                   "the witness's key name, e.g. witness.example/w1")
      ->required();
  witness_init->add_option(
      "--passphrase-file", witness_init_options.passphrase.file,
      "read the passphrase from this file (else $LOUPE_WITNESS_PASSPHRASE, "
      "else a prompt)");

  CLI11_PARSE(app, argc, argv);
  if (*witness_init) {
    return ExitCode(
        loupe::witness::InitWitnessKey(witness_init_options, std::cout));
  }
  if (*witness) {
    const int code =
        loupe::witness::RunWitness(witness_flags, std::cout, std::cerr);
    std::fflush(nullptr);
    std::_Exit(code);
  }
  if (*check_config) {
    auto config = loupe::server::LoadConfigFile(check_path);
    absl::Status s = config.status();
    if (s.ok()) s = loupe::server::FinishConfig(&*config);
    if (!s.ok()) {
      std::cerr << "loupe-server: " << s.message() << "\n";
      return 2;
    }
    std::cout << config->DebugString();
    return 0;
  }
  if (*migrate_schema) {
    auto config = loupe::server::LoadConfigFile(migrate_config);
    if (!config.ok()) return ExitCode(config.status());
    auto version = loupe::storage::MigrateStoreSchema(*config);
    if (!version.ok()) return ExitCode(version.status());
    std::cout << "schema version " << *version << "\n";
    return 0;
  }
  if (*migrate) {
    return ExitCode(Migrate(migrate_from, migrate_to, migrate_to_config));
  }
  if (*migrate_assets) {
    auto config = loupe::server::LoadConfigFile(migrate_assets_config);
    if (!config.ok()) return ExitCode(config.status());
    return ExitCode(loupe::server::MigrateAssets(*config, std::cout));
  }
  if (*scrub && !scrub_config.empty()) {
    auto config = loupe::server::LoadConfigFile(scrub_config);
    if (!config.ok()) return ExitCode(config.status());
    if (remove_orphans && config->assets().has_s3()) {
      config->mutable_assets()->mutable_s3()->set_scrub_removes_orphans(true);
    }
    auto s = loupe::server::ScrubConfiguredStore(*config, std::cout);
    if (!s.ok()) std::cerr << "loupe-server: " << s.message() << "\n";
    return s.ok() ? 0 : 1;
  }
  if (*scrub && scrub_dir.empty()) {
    std::cerr << "loupe-server: scrub: give --data-dir or --config\n";
    return 2;
  }
  if (*restore && !restore_config.empty()) {
    auto config = loupe::server::LoadConfigFile(restore_config);
    if (!config.ok()) return ExitCode(config.status());
    config->set_data_dir(restore_dir);
    auto s = loupe::server::RestoreBackup(backup_dir, *config, std::cout);
    if (!s.ok()) std::cerr << "loupe-server: " << s.message() << "\n";
    return s.ok() ? 0 : 1;
  }
  if (*scrub || *restore) {
    auto s = *scrub ? loupe::server::ScrubDataDir(scrub_dir, std::cout)
                    : loupe::server::RestoreBackup(backup_dir, restore_dir,
                                                   std::cout);
    if (!s.ok()) std::cerr << "loupe-server: " << s.message() << "\n";
    return s.ok() ? 0 : 1;
  }
  if (*keys_witnesses) {
    return ExitCode(
        loupe::server::SetRootWitnesses(witnesses_options, std::cout));
  }
  if (*keys_rotate) {
    return ExitCode(loupe::server::RotateSigningKey(rotate_options, std::cout));
  }
  if (*keys_init) {
    return ExitCode(loupe::server::InitKeys(keys_options, std::cout));
  }
  if (*new_token) {
    loupe::server::PrintNewToken(std::cout);
    return 0;
  }
  if (*init_dev) {
    auto s =
        loupe::server::InitDevDataDir(dev_dir, dev_listen, dev_tls, std::cout);
    if (absl::IsAlreadyExists(s)) {
      std::cout << "loupe-server: " << s.message() << "\n";
      return 0;
    }
    if (!s.ok()) {
      std::cerr << "loupe-server: " << s.message() << "\n";
      return 1;
    }
    return 0;
  }
  if (config_path.empty() && data_dir.empty()) {
    std::cerr << "loupe-server: give --config FILE or --data-dir DIR "
                 "(see --help)\n";
    return 2;
  }
  return Serve(config_path, data_dir, listen, http_listen, port_file);
}
