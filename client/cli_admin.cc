// `loupe admin`: the operator's calls on a running registry (an admin
// token): scrub the live store, take an online backup.
#include <iostream>

#include "base/str_cat.h"
#include "client/cli_common.h"
#include "client/format.h"
#include "client/registry_client.h"

namespace loupe::client {
namespace {

struct AdminOptions {
  std::string directory;
};

int Scrub(const Globals& g) {
  RegistryClient client(g.server, g.token, g.channel);
  auto report = client.Call<v1::ScrubReport>(
      v1::ScrubRequest(),
      [&](auto* c, auto& rq, auto* rs) {
        return client.admin_stub().Scrub(c, rq, rs);
      },
      /*deadline_seconds=*/24 * 3600);
  if (!report.ok()) return Fail(report.status());
  if (g.json) {
    std::cout << ToJson(*report) << "\n";
  } else {
    std::cout << "scrubbed: " << report->pieces() << " pieces, "
              << report->versions() << " versions, " << report->certificates()
              << " certificates, " << report->assets() << " assets ("
              << report->asset_bytes() << " bytes), " << report->log_entries()
              << " log entries (signed checkpoint: "
              << report->checkpoint_size() << ")\n";
    if (report->problems().empty()) std::cout << "clean\n";
    for (const auto& p : report->problems()) std::cout << "  " << p << "\n";
  }
  return report->problems().empty() ? kOk : kFailed;
}

int Backup(const Globals& g, const AdminOptions& o) {
  RegistryClient client(g.server, g.token, g.channel);
  v1::BackupRequest request;
  request.set_directory(o.directory);
  auto backup = client.Call<v1::BackupResponse>(
      request,
      [&](auto* c, auto& rq, auto* rs) {
        return client.admin_stub().Backup(c, rq, rs);
      },
      /*deadline_seconds=*/24 * 3600);
  if (!backup.ok()) return Fail(backup.status());
  if (g.json) {
    std::cout << ToJson(*backup) << "\n";
  } else {
    std::cout << "backup in " << backup->directory() << ": " << backup->bytes()
              << " bytes in " << backup->seconds() << " s; log "
              << backup->log_entries() << " entries, signed checkpoint "
              << backup->checkpoint_size()
              << "\nrestore with: loupe-server restore " << backup->directory()
              << " --data-dir NEW_DIR\n";
  }
  return kOk;
}

}  // namespace

void AddAdminCommands(CLI::App& admin, Globals& g, RunSlot& run) {
  admin.require_subcommand(1);
  auto o = std::make_shared<AdminOptions>();
  auto* scrub = admin.add_subcommand(
      "scrub",
      "re-verify the live store (asset digests, log entries and root, version "
      "chains, certificates); changes nothing; exit 0 clean, 1 problems");
  scrub->callback([&g, &run] { run = [&g] { return Scrub(g); }; });
  auto* backup = admin.add_subcommand(
      "backup",
      "an online backup of the live store into DIR on the server's machine "
      "(absolute, new); restore with loupe-server restore");
  backup->add_option("directory", o->directory, "where (absolute, new)")
      ->required();
  backup->callback([&g, &run, o] { run = [&g, o] { return Backup(g, *o); }; });
}

}  // namespace loupe::client
