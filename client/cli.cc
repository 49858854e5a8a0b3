#include "client/cli.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "base/str_cat.h"
#include "client/cli_common.h"
#include "client/registry_client.h"
#include "client/static_log.h"
#include "client/verify.h"

namespace loupe::client {
namespace {

// Fetches a piece's signed status from the registry (a public call).
std::function<absl::StatusOr<std::string>(const std::string&)> OnlineStatus(
    const Globals& g) {
  return [g](const std::string& piece_id) -> absl::StatusOr<std::string> {
    RegistryClient client(g.server, g.token, g.channel);
    v1::GetStatusRequest request;
    request.set_piece_id(piece_id);
    auto status = client.Call<v1::PieceStatusStatement>(
        request, [&](auto* ctx, auto& rq, auto* rs) {
          return client.stub().GetStatus(ctx, rq, rs);
        });
    if (!status.ok()) return status.status();
    return status->statement_json();
  };
}

// Fetches a certificate's current bundle, with its log proof (public).
std::function<absl::StatusOr<std::string>(const std::string&)> OnlineBundle(
    const Globals& g) {
  return [g](const std::string& id) -> absl::StatusOr<std::string> {
    RegistryClient client(g.server, g.token, g.channel);
    auto certificate = client.GetCertificate(id, /*staple_status=*/false);
    if (!certificate.ok()) return certificate.status();
    return certificate->bundle_json();
  };
}

void AddVerifyCommand(CLI::App& verify_cmd, Globals& g, RunSlot& run) {
  // Owned by the callback, which lives as long as the app.
  struct Options {
    VerifyOptions verify;
    std::string max_age;
    std::string log_url;
    bool online = false;
  };
  auto o = std::make_shared<Options>();
  VerifyOptions& verify = o->verify;
  verify_cmd
      .add_option("bundles-and-files", verify.arguments,
                  "certificate bundles, then files to check (a JSON file "
                  "whose first key is \"certificate\" is a bundle)")
      ->required();
  verify_cmd.add_option("--root", verify.root, "the trust root you hold")
      ->required();
  verify_cmd.add_option("--file", verify.files,
                        "a file to check against the subjects (repeatable)");
  verify_cmd.add_option("--dir", verify.dir,
                        "check every file under this directory");
  verify_cmd.add_flag("--allow-unlogged", verify.allow_unlogged,
                      "accept a bundle without a log proof");
  verify_cmd.add_option("--max-status-age", o->max_age,
                        "require a status statement at most this old "
                        "(30d, 12h, ...); see docs/certificate-format.md");
  verify_cmd.add_flag(
      "--online", o->online,
      "ask the registry (--server) for the piece's current status and the "
      "certificate's current log proof; the status must be at most 10m old "
      "(or --max-status-age) and never older in sequence than a stapled one");
  verify_cmd.add_option(
      "--log-url", o->log_url,
      "check the log inclusion against the log's static copy (C2SP tiles in "
      "a bucket or behind a CDN) at this URL: its checkpoint, not older than "
      "and consistent with the bundle's, and a proof rebuilt from its tiles; "
      "works with the registry down");
  verify_cmd.add_flag("--all-files", verify.all_files,
                      "fail unless every file the certificate names was "
                      "given and matches (for holders of the whole set)");
  verify_cmd.callback([&g, &run, o] {
    run = [&g, o] {
      o->verify.json = g.json;
      if (!o->max_age.empty()) {
        auto age = ParseAge(o->max_age);
        if (!age.ok())
          return Usage(StrCat("--max-status-age: ", age.status().message()));
        o->verify.max_status_age = *age;
      }
      if (o->online) {
        o->verify.fetch_status = OnlineStatus(g);
        // With --log-url the log comes from the static copy instead.
        if (o->log_url.empty()) o->verify.fetch_bundle = OnlineBundle(g);
      }
      if (!o->log_url.empty()) {
        auto copy = std::make_shared<StaticLog>(HttpStaticFetcher(o->log_url));
        o->verify.static_log_proof =
            [copy](uint64_t index,
                   const std::optional<crypto::Checkpoint>& held,
                   std::string_view entry) {
              return ProveFromCopy(*copy, index, held, entry);
            };
        o->verify.static_roots = [copy] { return copy->TrustRoots(); };
      }
      return RunVerify(o->verify, std::cout, std::cerr);
    };
  });
}

// The top-level commands, in the order --help lists them: the name, the
// line --help prints for it, and what adds its options and subcommands to
// it (and, when chosen, sets the command to run).
struct Command {
  const char* name;
  const char* usage;
  void (*add)(CLI::App& command, Globals& g, RunSlot& run);
};

constexpr Command kCommands[] = {
    {"piece", "register and read pieces", &AddPieceCommands},
    {"version", "add and read twin versions", &AddVersionCommands},
    {"asset", "upload and download files", &AddAssetCommands},
    {"cert", "issue and fetch certificates", &AddCertCommands},
    {"verify",
     "verify certificate bundles offline against a trust root, and files "
     "against their subjects (exit 0 valid, 1 invalid, 2 usage)",
     &AddVerifyCommand},
    {"status",
     "a piece's status: show it, revoke, suspend, report lost or "
     "stolen, recovered (each logged with who and why)",
     &AddStatusCommands},
    {"owner",
     "owners are Ed25519 keys: create one, set the first owner, "
     "transfer, show the history",
     &AddOwnerCommands},
    {"log",
     "the transparency log: signed checkpoints, audits "
     "(exit 0 consistent, 1 inconsistent, 2 usage)",
     &AddLogCommands},
    {"admin", "operator calls (an admin token): scrub, backup",
     &AddAdminCommands},
    {"geometry", "mesh files, offline: check and measure them",
     &AddGeometryCommands},
    {"check",
     "check a scan or CAD file against a piece's twin on the registry "
     "(exit 0 pass, 1 fail, 2 usage); the registry signs the result",
     &AddCheckCommand},
    {"identify",
     "identify a scanned piece among every registered ring: IDENTIFIED, "
     "CONSISTENT_WITH_SEVERAL or NO_MATCH, with each candidate's evidence "
     "and status (exit 0 found, 1 no match, 2 usage)",
     &AddIdentifyCommand},
};

// The options every command takes, into `g`.
void AddGlobalOptions(CLI::App& app, Globals& g) {
  if (const char* s = std::getenv("LOUPE_SERVER")) g.server = s;
  app.add_option("--server", g.server,
                 "registry address host:port (env LOUPE_SERVER; default "
                 "127.0.0.1:7400)");
  app.add_option("--token", g.token, "bearer token (env LOUPE_TOKEN)")
      ->envname("LOUPE_TOKEN");
  app.add_flag("--json", g.json, "print JSON (one object per line)");
  // TLS: the registry's CA, and for mutual TLS a client certificate; they
  // override the environment's (g.channel).
  app.add_option("--tls-ca", g.channel.ca_file,
                 "speak TLS, trusting this CA (PEM) (env LOUPE_CA; "
                 "tools/run.sh: data/dev/tls/ca.pem)");
  app.add_option("--tls-cert", g.channel.cert_file,
                 "client certificate for mutual TLS (PEM) (env LOUPE_CERT)");
  app.add_option("--tls-key", g.channel.key_file,
                 "the client certificate's key (PEM) (env LOUPE_KEY)");
  app.add_flag("--plaintext", g.channel.plaintext,
               "speak plain text, unencrypted and unauthenticated (env "
               "LOUPE_PLAINTEXT=1); TLS is the default")
      ->excludes("--tls-ca");
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{
      "loupe: the Loupe registry's command-line client.\n"
      "Register jewelry pieces and their versioned digital twins, move their "
      "files, and read them back.\n"
      "Exit status: 0 success, 1 the operation failed, 2 usage error."};
  app.require_subcommand(1);
  app.fallthrough();  // Global options may follow the subcommand.
  Globals g;
  AddGlobalOptions(app, g);
  RunSlot run;  // Set by the chosen command's callback while parsing.
  for (const Command& command : kCommands) {
    command.add(*app.add_subcommand(command.name, command.usage), g, run);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Usage(e.what());
  }
  return run ? run() : Usage("no command given");
}

}  // namespace loupe::client
