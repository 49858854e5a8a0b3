// `loupe cert`: issue and fetch certificates.
#include <fstream>

#include "client/cli_common.h"
#include "client/registry_client.h"

namespace loupe::client {
namespace {

struct CertOptions {
  std::string piece_id, id, output;
  uint32_t version = 0;
  bool staple = false;
};

// Writes a certificate's bundle to `output` (stdout for "-"), or prints
// the certificate as JSON with --json.
int EmitCertificate(const Globals& g, const v1::Certificate& c,
                    const std::string& output) {
  if (!output.empty() && output != "-") {
    std::ofstream out(output, std::ios::trunc);
    out << c.bundle_json();
    if (!out)
      return Fail(absl::PermissionDeniedError(output + ": cannot write"));
  }
  if (g.json) {
    v1::Certificate summary = c;
    if (!output.empty()) summary.clear_bundle_json();
    std::cout << ToJson(summary) << "\n";
  } else if (output == "-") {
    std::cout << c.bundle_json();
  } else {
    std::cout << "certificate " << c.id() << " of " << c.piece_id()
              << " version " << c.version() << ", key "
              << c.keyid().substr(0, 16)
              << (output.empty() ? "" : ", bundle written to " + output)
              << "\n";
  }
  return kOk;
}

int IssueCertificate(const Globals& g, const std::string& piece_id,
                     uint32_t version, const std::string& output) {
  RegistryClient client(g.server, g.token);
  auto c = client.IssueCertificate(piece_id, version);
  if (!c.ok()) return Fail(c.status());
  return EmitCertificate(g, *c, output);
}

int GetCertificate(const Globals& g, const std::string& id,
                   const std::string& output, bool staple_status) {
  RegistryClient client(g.server, g.token);
  auto c = client.GetCertificate(id, staple_status);
  if (!c.ok()) return Fail(c.status());
  return EmitCertificate(g, *c, output);
}

int ListCertificates(const Globals& g, const std::string& piece_id) {
  RegistryClient client(g.server, g.token);
  auto all = client.ListCertificates(piece_id);
  if (!all.ok()) return Fail(all.status());
  for (auto c : all->certificates()) {
    c.clear_bundle_json();
    EmitCertificate(g, c, "");
  }
  return kOk;
}

}  // namespace

void AddCertCommands(CLI::App& app, Globals& g, RunSlot& run) {
  auto* cert = app.add_subcommand("cert", "issue and fetch certificates");
  cert->require_subcommand(1);
  auto o = std::make_shared<CertOptions>();
  auto* issue = cert->add_subcommand(
      "issue", "sign a certificate of a piece version (your studio's)");
  issue->add_option("piece", o->piece_id, "piece id")->required();
  issue->add_option("version", o->version, "version (default: current)");
  issue->add_option("-o,--output", o->output,
                    "write the bundle here ('-' = stdout)");
  issue->callback([&g, &run, o] {
    run = [&g, o] {
      return IssueCertificate(g, o->piece_id, o->version, o->output);
    };
  });
  auto* get = cert->add_subcommand(
      "get", "fetch a certificate's bundle, with its log proof");
  get->add_option("id", o->id, "certificate id (ct_...)")->required();
  get->add_option("-o,--output", o->output,
                  "write the bundle here ('-' = stdout)");
  get->add_flag("--staple-status", o->staple,
                "staple a fresh signed status of the piece");
  get->callback([&g, &run, o] {
    run = [&g, o] { return GetCertificate(g, o->id, o->output, o->staple); };
  });
  auto* list = cert->add_subcommand("list", "a piece's certificates");
  list->add_option("piece", o->piece_id, "piece id")->required();
  list->callback([&g, &run, o] {
    run = [&g, o] { return ListCertificates(g, o->piece_id); };
  });
}

}  // namespace loupe::client
