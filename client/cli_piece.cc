// `loupe piece`, `loupe version` and `loupe asset`: registering pieces,
// their versions and files, and reading them back.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "base/str_cat.h"
#include "client/cli_common.h"
#include "client/format.h"
#include "client/progress.h"
#include "client/registry_client.h"

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
  // Cited checks: ids, "ID=REASON" overrides of failed ones, and
  // "ID=PNG" heat-map pictures published with them.
  std::vector<std::string> evidence, overrides, heat_maps;
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
  cmd->add_option("--cad", files->cad,
                  "CAD file(s) (STL, OBJ, PLY, STEP, 3MF, ...)");
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

// "ID=VALUE" -> {ID, VALUE}; INVALID_ARGUMENT naming `option` otherwise.
absl::StatusOr<std::pair<std::string, std::string>> SplitPair(
    std::string_view option, const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    return absl::InvalidArgumentError(
        StrCat(option, ": expected CHECK_ID=VALUE, got '", text, "'"));
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

// The evidence entry of `id` in `version`, added if absent.
v1::CheckEvidence* EvidenceFor(v1::TwinVersion* version,
                               const std::string& id) {
  for (auto& e : *version->mutable_evidence()) {
    if (e.check_id() == id) return &e;
  }
  auto* e = version->add_evidence();
  e->set_check_id(id);
  return e;
}

// --evidence, --override and --heat-map into `version` (heat maps are
// uploaded as renders of the version).
absl::Status CiteChecks(RegistryClient& client, const VersionOptions& o,
                        v1::TwinVersion* version) {
  for (const auto& id : o.evidence) EvidenceFor(version, id);
  for (const auto& text : o.overrides) {
    auto pair = SplitPair("--override", text);
    if (!pair.ok()) return pair.status();
    EvidenceFor(version, pair->first)->set_override_reason(pair->second);
  }
  for (const auto& text : o.heat_maps) {
    auto pair = SplitPair("--heat-map", text);
    if (!pair.ok()) return pair.status();
    VersionFiles picture;
    picture.render.push_back(pair->second);
    if (auto s = UploadFiles(client, picture, version); !s.ok()) return s;
    EvidenceFor(version, pair->first)
        ->set_heat_map_sha256(
            version->assets(version->assets_size() - 1).sha256());
  }
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
  if (auto s = CiteChecks(client, o, &version); !s.ok()) {
    return absl::IsInvalidArgument(s) ? Usage(std::string(s.message()))
                                      : Fail(s);
  }
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
  std::string studio, reference, kind, title, gtin, serial;
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
  request.set_gtin(o.gtin);
  request.set_serial(o.serial);
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

}  // namespace

void AddPieceCommands(CLI::App& piece, Globals& g, RunSlot& run) {
  piece.require_subcommand(1);
  // Owned by the callbacks, which live as long as the app.
  auto create = std::make_shared<PieceOptions>();
  auto* create_cmd = piece.add_subcommand(
      "create", "register a piece; with --from or files, also its version 1");
  create_cmd->add_option("--studio", create->studio, "your studio id")
      ->required();
  create_cmd
      ->add_option("--reference", create->reference,
                   "your order number or SKU (unique per studio)")
      ->required();
  create_cmd
      ->add_option("--kind", create->kind,
                   ShortNames(v1::PieceKind_descriptor()))
      ->required();
  create_cmd->add_option("--title", create->title, "short description");
  create_cmd->add_option("--gtin", create->gtin,
                         "GS1 GTIN of the piece (8, 12, 13 or 14 digits)");
  create_cmd->add_option("--serial", create->serial,
                         "GS1 serial number (with --gtin): the printed QR "
                         "code becomes a GS1 Digital Link");
  create_cmd->add_option("--reader", create->readers,
                         "principal allowed to download this piece's files");
  create_cmd->add_option("--insurer", create->insurers,
                         "insurer allowed to report this piece lost or stolen");
  AddVersionOptions(create_cmd, &create->first);
  create_cmd->callback([&g, &run, create] {
    run = [&g, create] { return CreatePiece(g, *create); };
  });

  auto piece_id = std::make_shared<std::string>();
  auto* show_cmd = piece.add_subcommand("show", "show a piece");
  show_cmd->add_option("piece", *piece_id, "piece id")->required();
  show_cmd->callback([&g, &run, piece_id] {
    run = [&g, piece_id] { return ShowPiece(g, *piece_id); };
  });

  auto list = std::make_shared<ListOptions>();
  auto* list_cmd = piece.add_subcommand("list", "list pieces");
  list_cmd->add_option("--studio", list->studio, "only this studio's pieces");
  list_cmd->add_option("--page-size", list->page_size,
                       "pieces per page (1-1000)");
  list_cmd->add_option("--page-token", list->page_token, "continue a listing");
  list_cmd->add_flag("--all", list->all, "follow every page");
  list_cmd->callback(
      [&g, &run, list] { run = [&g, list] { return ListPieces(g, *list); }; });
}

void AddVersionCommands(CLI::App& version, Globals& g, RunSlot& run) {
  version.require_subcommand(1);
  // Owned by the callbacks, which live as long as the app.
  auto piece_id = std::make_shared<std::string>();
  auto add = std::make_shared<VersionOptions>();
  auto* add_cmd = version.add_subcommand(
      "add", "add a version (resize, repair, ...) with its facts and files");
  add_cmd->add_option("piece", *piece_id, "piece id")->required();
  AddVersionOptions(add_cmd, add.get());
  add_cmd->add_option("--evidence", add->evidence,
                      "cite a recorded check (`loupe check --record`) as "
                      "evidence of this version; repeatable");
  add_cmd->add_option("--override", add->overrides,
                      "CHECK_ID=REASON: cite a check that failed, with the "
                      "studio's reason (logged publicly)");
  add_cmd->add_option("--heat-map", add->heat_maps,
                      "CHECK_ID=PNG: publish the check's heat-map picture "
                      "(`loupe geometry compare --picture`) with the version");
  add_cmd->callback([&g, &run, piece_id, add] {
    run = [&g, piece_id, add] { return AddVersion(g, *piece_id, *add); };
  });

  auto number = std::make_shared<uint32_t>(0);
  auto* vshow = version.add_subcommand("show", "show a version");
  vshow->add_option("piece", *piece_id, "piece id")->required();
  vshow->add_option("number", *number, "version number (default: current)");
  vshow->callback([&g, &run, piece_id, number] {
    run = [&g, piece_id, number] { return ShowVersion(g, *piece_id, *number); };
  });

  auto list = std::make_shared<ListOptions>();
  auto* vlist = version.add_subcommand("list", "list a piece's versions");
  vlist->add_option("piece", *piece_id, "piece id")->required();
  vlist->add_option("--page-size", list->page_size,
                    "versions per page (1-1000)");
  vlist->add_option("--page-token", list->page_token, "continue a listing");
  vlist->add_flag("--all", list->all, "follow every page");
  vlist->callback([&g, &run, piece_id, list] {
    run = [&g, piece_id, list] { return ListVersions(g, *piece_id, *list); };
  });
}

void AddAssetCommands(CLI::App& asset, Globals& g, RunSlot& run) {
  asset.require_subcommand(1);
  // Owned by the callbacks, which live as long as the app.
  auto paths = std::make_shared<std::vector<std::string>>();
  auto* put = asset.add_subcommand("put", "upload files; prints their sha256");
  put->add_option("files", *paths, "files to upload")
      ->required()
      ->check(CLI::ExistingFile);
  put->callback([&g, &run, paths] {
    run = [&g, paths] { return PutAssets(g, *paths); };
  });
  struct GetOptions {
    std::string sha, output, piece_id;
  };
  auto o = std::make_shared<GetOptions>();
  auto* get = asset.add_subcommand("get", "download a file, verified");
  get->add_option("sha256", o->sha, "the file's sha256")->required();
  get->add_option("-o,--output", o->output, "where to write it ('-' = stdout)")
      ->required();
  get->add_option("--piece", o->piece_id,
                  "the piece through which you may read it");
  get->callback([&g, &run, o] {
    run = [&g, o] { return GetAsset(g, o->sha, o->piece_id, o->output); };
  });
}

}  // namespace loupe::client
