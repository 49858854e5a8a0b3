// `loupe cert`: issue and fetch certificates.
#include <fstream>

#include "base/file.h"
#include "base/str_cat.h"
#include "client/cli_common.h"
#include "client/registry_client.h"
#include "crypto/bundle.h"
#include "crypto/log_entry.h"

namespace loupe::client {
namespace {

struct CertOptions {
  std::string piece_id, id, output, refresh;
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
  RegistryClient client(g.server, g.token, g.channel);
  auto c = client.IssueCertificate(piece_id, version);
  if (!c.ok()) return Fail(c.status());
  return EmitCertificate(g, *c, output);
}

int GetCertificate(const Globals& g, const std::string& id,
                   const std::string& output, bool staple_status) {
  RegistryClient client(g.server, g.token, g.channel);
  auto c = client.GetCertificate(id, staple_status);
  if (!c.ok()) return Fail(c.status());
  return EmitCertificate(g, *c, output);
}

// `cert get --refresh BUNDLE`: the same certificate with the registry's
// current log proof and trust-root chain, written back over BUNDLE (or to
// -o). After a key rotation, bundles whose checkpoint only the retired key
// signed no longer verify offline until refreshed.
int RefreshCertificate(const Globals& g, const std::string& path,
                       const std::string& output, bool staple_status) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return Usage(StrCat("--refresh: ", text.status().message()));
  auto held = crypto::ParseBundle(*text);
  if (!held.ok()) {
    return Usage(StrCat("--refresh: ", path, ": ", held.status().message()));
  }
  const std::string id = crypto::CertificateId(held->certificate.payload);
  RegistryClient client(g.server, g.token, g.channel);
  auto c = client.GetCertificate(id, staple_status);
  if (!c.ok()) return Fail(c.status());
  auto fresh = crypto::ParseBundle(c->bundle_json());
  if (!fresh.ok() || fresh->certificate.payload != held->certificate.payload) {
    return Fail(absl::UnauthenticatedError(
        StrCat("the registry answered with another certificate than ", id, "; ",
               path, " left unchanged")));
  }
  const std::string target = output.empty() ? path : output;
  if (target != "-") {
    if (auto s =
            WriteFileSynced(target, c->bundle_json(), 0644, IfExists::kReplace);
        !s.ok()) {
      return Fail(s);
    }
  }
  return EmitCertificate(g, *c, target);
}

int ListCertificates(const Globals& g, const std::string& piece_id) {
  RegistryClient client(g.server, g.token, g.channel);
  auto all = client.ListCertificates(piece_id);
  if (!all.ok()) return Fail(all.status());
  for (auto c : all->certificates()) {
    c.clear_bundle_json();
    EmitCertificate(g, c, "");
  }
  return kOk;
}

}  // namespace

void AddCertCommands(CLI::App& cert, Globals& g, RunSlot& run) {
  cert.require_subcommand(1);
  auto o = std::make_shared<CertOptions>();
  auto* issue = cert.add_subcommand(
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
  auto* get = cert.add_subcommand(
      "get", "fetch a certificate's bundle, with its log proof");
  auto* id = get->add_option("id", o->id, "certificate id (ct_...)");
  get->add_option("--refresh", o->refresh,
                  "a bundle you hold: fetch its certificate's current log "
                  "proof and trust roots, and write it back (after a key "
                  "rotation)")
      ->excludes(id);
  get->add_option("-o,--output", o->output,
                  "write the bundle here ('-' = stdout)");
  get->add_flag("--staple-status", o->staple,
                "staple a fresh signed status of the piece");
  get->callback([&g, &run, o] {
    run = [&g, o] {
      if (!o->refresh.empty()) {
        return RefreshCertificate(g, o->refresh, o->output, o->staple);
      }
      if (o->id.empty())
        return Usage("cert get: a certificate id or --refresh");
      return GetCertificate(g, o->id, o->output, o->staple);
    };
  });
  auto* list = cert.add_subcommand("list", "a piece's certificates");
  list->add_option("piece", o->piece_id, "piece id")->required();
  list->callback([&g, &run, o] {
    run = [&g, o] { return ListCertificates(g, o->piece_id); };
  });
}

}  // namespace loupe::client
