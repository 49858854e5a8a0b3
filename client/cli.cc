#include "client/cli.h"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/str_cat.h"
#include "client/cli_common.h"
#include "client/format.h"
#include "client/progress.h"
#include "client/registry_client.h"
#include "client/verify.h"

namespace loupe::client {
namespace {

// Files given for a new version, by role.
struct VersionFiles {
  std::vector<std::string> scan, cad, prototype_scan, render, photo, document;
};

struct VersionOptions {
  std::string from_json;
  std::string reason;
  int parent = -1;
  std::string note;
  VersionFiles files;
};

template <typename Message>
void Emit(const Globals& g, const Message& m,
          void (*print)(std::ostream&, const Message&)) {
  if (g.json) {
    std::cout << ToJson(m) << "\n";
  } else {
    print(std::cout, m);
  }
}

ProgressFn ProgressFor(const std::string& label,
                       std::unique_ptr<Progress>* holder) {
  return [label, holder](uint64_t done, uint64_t total) {
    if (!*holder) *holder = std::make_unique<Progress>(label, total);
    (*holder)->Update(done);
  };
}

void AddFileOptions(CLI::App* cmd, VersionFiles* files) {
  cmd->add_option("--scan", files->scan, "scan file(s) of the piece");
  cmd->add_option("--cad", files->cad, "CAD file(s) (STL, OBJ, PLY, ...)");
  cmd->add_option("--prototype-scan", files->prototype_scan,
                  "scan(s) of a resin prototype");
  cmd->add_option("--render", files->render, "render(s)");
  cmd->add_option("--photo", files->photo, "photo(s)");
  cmd->add_option("--document", files->document, "document(s), e.g. a PDF");
}

void AddVersionOptions(CLI::App* cmd, VersionOptions* o) {
  cmd->add_option("--from", o->from_json,
                  "JSON description of the version (TwinVersion in protobuf "
                  "JSON: assay, hallmarks, stones, production, tolerance, "
                  "ring_size, ...)")
      ->check(CLI::ExistingFile);
  cmd->add_option(
      "--reason", o->reason,
      "why this version exists: " + ShortNames(v1::VersionReason_descriptor()));
  cmd->add_option("--parent", o->parent,
                  "the version this one derives from (default: the current)");
  cmd->add_option("--note", o->note, "free-text note");
  AddFileOptions(cmd, &o->files);
}

// Uploads every file and appends its AssetRef to `version`.
absl::Status UploadFiles(RegistryClient& client, const VersionFiles& files,
                         v1::TwinVersion* version) {
  const std::pair<const std::vector<std::string>*, v1::AssetRole> groups[] = {
      {&files.scan, v1::ASSET_ROLE_SCAN},
      {&files.cad, v1::ASSET_ROLE_CAD},
      {&files.prototype_scan, v1::ASSET_ROLE_PROTOTYPE_SCAN},
      {&files.render, v1::ASSET_ROLE_RENDER},
      {&files.photo, v1::ASSET_ROLE_PHOTO},
      {&files.document, v1::ASSET_ROLE_DOCUMENT}};
  for (const auto& [paths, role] : groups) {
    for (const auto& path : *paths) {
      std::unique_ptr<Progress> progress;
      auto uploaded = client.UploadFile(path, ProgressFor(path, &progress));
      if (!uploaded.ok()) return uploaded.status();
      auto* asset = version->add_assets();
      asset->set_role(role);
      asset->set_file_name(std::filesystem::path(path).filename().string());
      asset->set_media_type(MediaTypeFor(path));
      asset->set_size_bytes(uploaded->size_bytes());
      asset->set_sha256(uploaded->sha256());
    }
  }
  return absl::OkStatus();
}

// Reads --from, --reason and --note into `version`; INVALID_ARGUMENT with
// a usage message otherwise.
absl::Status DescribeVersion(const VersionOptions& o,
                             v1::TwinVersion* version) {
  if (!o.from_json.empty()) {
    std::ifstream in(o.from_json);
    std::stringstream text;
    text << in.rdbuf();
    if (auto s = FromJson(text.str(), version); !s.ok()) {
      return absl::InvalidArgumentError(StrCat(o.from_json, ": ", s.message()));
    }
  }
  if (!o.reason.empty()) {
    int reason = 0;
    if (!ParseShortName(v1::VersionReason_descriptor(), o.reason, &reason)) {
      return absl::InvalidArgumentError(
          StrCat("--reason: unknown reason '", o.reason, "'; one of ",
                 ShortNames(v1::VersionReason_descriptor())));
    }
    version->set_reason(static_cast<v1::VersionReason>(reason));
  }
  if (!o.note.empty()) version->set_note(o.note);
  return absl::OkStatus();
}

// Builds the version from --from, flags and files, then adds it.
int AddVersion(const Globals& g, const std::string& piece_id,
               const VersionOptions& o) {
  v1::TwinVersion version;
  if (auto s = DescribeVersion(o, &version); !s.ok()) {
    return Usage(std::string(s.message()));
  }
  RegistryClient client(g.server, g.token, g.channel);
  auto piece = client.GetPiece(piece_id);
  if (!piece.ok()) return Fail(piece.status());
  version.set_parent_number(o.parent >= 0 ? o.parent
                                          : piece->current_version());
  if (version.reason() == v1::VERSION_REASON_UNSPECIFIED) {
    if (version.parent_number() != 0) {
      return Usage("--reason is required for a version after the first");
    }
    version.set_reason(v1::VERSION_REASON_ORIGINAL);
  }
  if (auto s = UploadFiles(client, o.files, &version); !s.ok()) return Fail(s);
  v1::AddVersionRequest request;
  request.set_piece_id(piece_id);
  *request.mutable_version() = version;
  auto added = client.AddVersion(request);
  if (!added.ok()) return Fail(added.status());
  Emit(g, *added, &PrintVersion);
  return kOk;
}

bool HasFiles(const VersionOptions& o) {
  const auto& f = o.files;
  return !o.from_json.empty() || !f.scan.empty() || !f.cad.empty() ||
         !f.prototype_scan.empty() || !f.render.empty() || !f.photo.empty() ||
         !f.document.empty();
}

struct PieceOptions {
  std::string studio, reference, kind, title;
  std::vector<std::string> readers, insurers;
  VersionOptions first;
};

// Registers the piece; with --from or files, atomically with version 1.
int CreatePiece(const Globals& g, const PieceOptions& o) {
  int kind = 0;
  if (!ParseShortName(v1::PieceKind_descriptor(), o.kind, &kind)) {
    return Usage(StrCat("--kind: unknown kind '", o.kind, "'; one of ",
                        ShortNames(v1::PieceKind_descriptor())));
  }
  v1::CreatePieceRequest request;
  request.set_studio_id(o.studio);
  request.set_studio_reference(o.reference);
  request.set_kind(static_cast<v1::PieceKind>(kind));
  request.set_title(o.title);
  for (const auto& r : o.readers) request.add_asset_readers(r);
  for (const auto& i : o.insurers) request.add_insurers(i);
  RegistryClient client(g.server, g.token, g.channel);
  const bool with_version = HasFiles(o.first);
  if (with_version) {
    auto* first = request.mutable_first_version();
    if (auto s = DescribeVersion(o.first, first); !s.ok()) {
      return Usage(std::string(s.message()));
    }
    if (auto s = UploadFiles(client, o.first.files, first); !s.ok()) {
      return Fail(s);
    }
  }
  auto piece = client.CreatePiece(request);
  if (!piece.ok()) return Fail(piece.status());
  if (!with_version) {
    Emit(g, *piece, &PrintPiece);
    return kOk;
  }
  auto version = client.GetVersion(piece->id(), 1);
  if (!version.ok()) return Fail(version.status());
  if (!g.json) std::cout << "created piece " << piece->id() << "\n";
  Emit(g, *version, &PrintVersion);
  return kOk;
}

int ShowPiece(const Globals& g, const std::string& id) {
  RegistryClient client(g.server, g.token, g.channel);
  auto piece = client.GetPiece(id);
  if (!piece.ok()) return Fail(piece.status());
  Emit(g, *piece, &PrintPiece);
  return kOk;
}

struct ListOptions {
  std::string studio;
  uint32_t page_size = 0;
  std::string page_token;
  bool all = false;
};

// Fetches pages with `fetch` (every page with --all) and prints them: JSON
// one page per line, or a line per item from `print_items`.
template <typename Request, typename Fetch, typename PrintItems>
int ListPages(const Globals& g, const ListOptions& o, Request request,
              Fetch fetch, PrintItems print_items) {
  request.set_page_size(o.page_size);
  request.set_page_token(o.page_token);
  do {
    auto page = fetch(request);
    if (!page.ok()) return Fail(page.status());
    if (g.json) {
      std::cout << ToJson(*page) << "\n";
    } else {
      print_items(*page);
      if (!o.all && !page->next_page_token().empty()) {
        std::cout << "more: --page-token " << page->next_page_token() << "\n";
      }
    }
    request.set_page_token(page->next_page_token());
  } while (o.all && !request.page_token().empty());
  return kOk;
}

int ListPieces(const Globals& g, const ListOptions& o) {
  RegistryClient client(g.server, g.token, g.channel);
  v1::ListPiecesRequest request;
  request.set_studio_id(o.studio);
  return ListPages(
      g, o, request, [&](const auto& r) { return client.ListPieces(r); },
      [](const v1::ListPiecesResponse& page) {
        for (const auto& p : page.pieces()) PrintPieceLine(std::cout, p);
      });
}

int ListVersions(const Globals& g, const std::string& piece_id,
                 const ListOptions& o) {
  RegistryClient client(g.server, g.token, g.channel);
  v1::ListVersionsRequest request;
  request.set_piece_id(piece_id);
  return ListPages(
      g, o, request, [&](const auto& r) { return client.ListVersions(r); },
      [](const v1::ListVersionsResponse& page) {
        for (const auto& v : page.versions()) PrintVersionLine(std::cout, v);
      });
}

int ShowVersion(const Globals& g, const std::string& piece_id,
                uint32_t number) {
  RegistryClient client(g.server, g.token, g.channel);
  auto version = client.GetVersion(piece_id, number);
  if (!version.ok()) return Fail(version.status());
  Emit(g, *version, &PrintVersion);
  return kOk;
}

int PutAssets(const Globals& g, const std::vector<std::string>& paths) {
  RegistryClient client(g.server, g.token, g.channel);
  for (const auto& path : paths) {
    std::unique_ptr<Progress> progress;
    auto uploaded = client.UploadFile(path, ProgressFor(path, &progress));
    progress.reset();
    if (!uploaded.ok()) return Fail(uploaded.status());
    if (g.json) {
      std::cout << ToJson(*uploaded) << "\n";
    } else {
      std::cout << uploaded->sha256() << "  " << uploaded->size_bytes()
                << " bytes  " << path
                << (uploaded->deduplicated() ? "  (already stored)" : "")
                << "\n";
    }
  }
  return kOk;
}

int GetAsset(const Globals& g, const std::string& sha256,
             const std::string& piece_id, const std::string& output) {
  RegistryClient client(g.server, g.token, g.channel);
  v1::DownloadAssetRequest request;
  request.set_sha256(sha256);
  request.set_piece_id(piece_id);
  std::unique_ptr<Progress> progress;
  auto s = client.DownloadToFile(
      request, output,
      output == "-" ? ProgressFn() : ProgressFor(output, &progress));
  progress.reset();
  if (!s.ok()) return Fail(s);
  if (output != "-") {
    if (g.json) {
      std::cout << "{\"sha256\":\"" << sha256 << "\",\"path\":\"" << output
                << "\",\"verified\":true}\n";
    } else {
      std::cout << "wrote " << output << " (sha256 verified)\n";
    }
  }
  return kOk;
}

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
  RunSlot run;

  auto* piece = app.add_subcommand("piece", "register and read pieces");
  piece->require_subcommand(1);
  PieceOptions create;
  auto* create_cmd = piece->add_subcommand(
      "create", "register a piece; with --from or files, also its version 1");
  create_cmd->add_option("--studio", create.studio, "your studio id")
      ->required();
  create_cmd
      ->add_option("--reference", create.reference,
                   "your order number or SKU (unique per studio)")
      ->required();
  create_cmd
      ->add_option("--kind", create.kind,
                   ShortNames(v1::PieceKind_descriptor()))
      ->required();
  create_cmd->add_option("--title", create.title, "short description");
  create_cmd->add_option("--reader", create.readers,
                         "principal allowed to download this piece's files");
  create_cmd->add_option("--insurer", create.insurers,
                         "insurer allowed to report this piece lost or stolen");
  AddVersionOptions(create_cmd, &create.first);
  create_cmd->callback([&] { run = [&] { return CreatePiece(g, create); }; });

  std::string piece_id;
  auto* show_cmd = piece->add_subcommand("show", "show a piece");
  show_cmd->add_option("piece", piece_id, "piece id")->required();
  show_cmd->callback([&] { run = [&] { return ShowPiece(g, piece_id); }; });

  ListOptions list;
  auto* list_cmd = piece->add_subcommand("list", "list pieces");
  list_cmd->add_option("--studio", list.studio, "only this studio's pieces");
  list_cmd->add_option("--page-size", list.page_size,
                       "pieces per page (1-1000)");
  list_cmd->add_option("--page-token", list.page_token, "continue a listing");
  list_cmd->add_flag("--all", list.all, "follow every page");
  list_cmd->callback([&] { run = [&] { return ListPieces(g, list); }; });

  auto* version = app.add_subcommand("version", "add and read twin versions");
  version->require_subcommand(1);
  VersionOptions add;
  auto* add_cmd = version->add_subcommand(
      "add", "add a version (resize, repair, ...) with its facts and files");
  add_cmd->add_option("piece", piece_id, "piece id")->required();
  AddVersionOptions(add_cmd, &add);
  add_cmd->callback(
      [&] { run = [&] { return AddVersion(g, piece_id, add); }; });

  uint32_t number = 0;
  auto* vshow = version->add_subcommand("show", "show a version");
  vshow->add_option("piece", piece_id, "piece id")->required();
  vshow->add_option("number", number, "version number (default: current)");
  vshow->callback(
      [&] { run = [&] { return ShowVersion(g, piece_id, number); }; });

  auto* vlist = version->add_subcommand("list", "list a piece's versions");
  vlist->add_option("piece", piece_id, "piece id")->required();
  vlist->add_option("--page-size", list.page_size,
                    "versions per page (1-1000)");
  vlist->add_option("--page-token", list.page_token, "continue a listing");
  vlist->add_flag("--all", list.all, "follow every page");
  vlist->callback(
      [&] { run = [&] { return ListVersions(g, piece_id, list); }; });

  auto* asset = app.add_subcommand("asset", "upload and download files");
  asset->require_subcommand(1);
  std::vector<std::string> paths;
  auto* put = asset->add_subcommand("put", "upload files; prints their sha256");
  put->add_option("files", paths, "files to upload")
      ->required()
      ->check(CLI::ExistingFile);
  put->callback([&] { run = [&] { return PutAssets(g, paths); }; });
  std::string sha, output;
  auto* get = asset->add_subcommand("get", "download a file, verified");
  get->add_option("sha256", sha, "the file's sha256")->required();
  get->add_option("-o,--output", output, "where to write it ('-' = stdout)")
      ->required();
  get->add_option("--piece", piece_id,
                  "the piece through which you may read it");
  get->callback(
      [&] { run = [&] { return GetAsset(g, sha, piece_id, output); }; });

  AddCertCommands(app, g, run);

  VerifyOptions verify;
  auto* verify_cmd = app.add_subcommand(
      "verify",
      "verify certificate bundles offline against a trust root, and files "
      "against their subjects (exit 0 valid, 1 invalid, 2 usage)");
  verify_cmd
      ->add_option(
          "bundles-and-files", verify.arguments,
          "certificate bundles, then files to check (a JSON file whose "
          "first key is \"certificate\" is a bundle)")
      ->required();
  verify_cmd->add_option("--root", verify.root, "the trust root you hold")
      ->required();
  verify_cmd->add_option("--file", verify.files,
                         "a file to check against the subjects (repeatable)");
  verify_cmd->add_option("--dir", verify.dir,
                         "check every file under this directory");
  verify_cmd->add_flag("--allow-unlogged", verify.allow_unlogged,
                       "accept a bundle without a log proof");
  std::string max_age;
  bool online = false;
  verify_cmd->add_option("--max-status-age", max_age,
                         "require a status statement at most this old "
                         "(30d, 12h, ...); see docs/certificate-format.md");
  verify_cmd->add_flag(
      "--online", online,
      "ask the registry (--server) for the piece's current status and the "
      "certificate's current log proof; the status must be at most 10m old "
      "(or --max-status-age) and never older in sequence than a stapled one");
  verify_cmd->add_flag("--all-files", verify.all_files,
                       "fail unless every file the certificate names was "
                       "given and matches (for holders of the whole set)");
  verify_cmd->callback([&] {
    run = [&] {
      verify.json = g.json;
      if (!max_age.empty()) {
        auto age = ParseAge(max_age);
        if (!age.ok())
          return Usage(StrCat("--max-status-age: ", age.status().message()));
        verify.max_status_age = *age;
      }
      if (online) {
        verify.fetch_status = OnlineStatus(g);
        verify.fetch_bundle = OnlineBundle(g);
      }
      return RunVerify(verify, std::cout, std::cerr);
    };
  });
  AddStatusCommands(app, g, run);
  AddOwnerCommands(app, g, run);
  AddLogCommands(app, g, run);
  AddAdminCommands(app, g, run);
  AddGeometryCommands(app, g, run);

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
