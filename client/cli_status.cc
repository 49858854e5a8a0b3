// `loupe status`, `loupe owner` and `loupe log`.
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_join.h"
#include "base/file.h"
#include "base/status_macros.h"
#include "base/str_cat.h"
#include "client/cli_common.h"
#include "client/registry_client.h"
#include "crypto/dsse.h"
#include "crypto/key_file.h"
#include "crypto/log_entry.h"
#include "crypto/piece_status.h"
#include "crypto/trust_root.h"

namespace loupe::client {
namespace {

using Json = nlohmann::json;

struct Action {
  const char* command;
  v1::StatusAction action;
  const char* word;  // As the owner signs it.
  const char* help;
};

constexpr Action kActions[] = {
    {"revoke", v1::STATUS_ACTION_REVOKE, "revoke",
     "revoke the piece's certificates (its studio; final)"},
    {"suspend", v1::STATUS_ACTION_SUSPEND, "suspend",
     "suspend the piece's certificates (its studio)"},
    {"unsuspend", v1::STATUS_ACTION_UNSUSPEND, "unsuspend",
     "lift a suspension (its studio)"},
    {"lost", v1::STATUS_ACTION_REPORT_LOST, "report_lost",
     "report the piece lost (owner with --owner-key, or an insurer the "
     "piece or its studio names)"},
    {"stolen", v1::STATUS_ACTION_REPORT_STOLEN, "report_stolen",
     "report the piece stolen (owner with --owner-key, or an insurer the "
     "piece or its studio names)"},
    {"recovered", v1::STATUS_ACTION_RECOVER, "recover",
     "clear a loss or theft report (its reporter, the owner with "
     "--owner-key, or an admin)"},
};

absl::StatusOr<v1::PieceStatusStatement> FetchStatus(RegistryClient& client,
                                                     const std::string& id) {
  v1::GetStatusRequest request;
  request.set_piece_id(id);
  return client.Call<v1::PieceStatusStatement>(
      request, [&](auto* ctx, auto& rq, auto* rs) {
        return client.stub().GetStatus(ctx, rq, rs);
      });
}

void PrintPieceStatus(const Globals& g, const v1::Piece& p) {
  if (g.json) {
    std::cout << ToJson(p) << "\n";
    return;
  }
  std::cout << p.id() << ": " << v1::PieceStatus_Name(p.status()).substr(13);
  if (!p.status_reason().empty()) {
    // The reason is a caller's text: escaped, never terminal controls.
    std::cout << " (" << TerminalSafe(p.status_reason()) << "; by "
              << TerminalSafe(p.status_changed_by()) << ")";
  }
  std::cout << "\n  owner: "
            << (p.owner_public_key().empty()
                    ? "none"
                    : crypto::ToHex(p.owner_public_key()))
            << (p.owner_sequence() > 0
                    ? StrCat(" (owner #", p.owner_sequence(), ")")
                    : "")
            << "\n";
}

absl::StatusOr<crypto::SigningKey> OpenOwnerKey(const std::string& path,
                                                const std::string& pass_file) {
  ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path));
  crypto::PassphraseSource source;
  source.file = pass_file;
  source.prompt = "Owner key passphrase: ";
  ASSIGN_OR_RETURN(const auto passphrase, crypto::ReadPassphrase(source));
  return crypto::OpenSigningKey(text, passphrase.view());
}

// A public key given as 64 hex characters or as a file holding them.
absl::StatusOr<crypto::PublicKey> ReadPublicKey(const std::string& arg) {
  std::string text = arg;
  if (arg.size() != 64) {
    ASSIGN_OR_RETURN(text, ReadFileToString(arg));
    while (!text.empty() &&
           std::isspace(static_cast<unsigned char>(text.back())))
      text.pop_back();
  }
  return crypto::ParsePublicKeyHex(text);
}

struct StatusOptions {
  std::string piece, reason, owner_key, passphrase_file, output;
  std::vector<std::string> insurers;
};

int ChangeStatus(const Globals& g, const Action& a, const StatusOptions& o) {
  RegistryClient client(g.server, g.token, g.channel);
  v1::ChangeStatusRequest request;
  request.set_piece_id(o.piece);
  request.set_action(a.action);
  request.set_reason(o.reason);
  if (!o.owner_key.empty()) {
    auto key = OpenOwnerKey(o.owner_key, o.passphrase_file);
    if (!key.ok()) return Fail(key.status());
    auto current = FetchStatus(client, o.piece);
    if (!current.ok()) return Fail(current.status());
    const auto envelope = crypto::SignStatusReport(
        {o.piece, a.word, o.reason, current->piece().status_sequence() + 1},
        *key);
    request.set_owner_report_json(crypto::EnvelopeToJson(envelope));
  }
  auto piece =
      client.Call<v1::Piece>(request, [&](auto* c, auto& rq, auto* rs) {
        return client.stub().ChangeStatus(c, rq, rs);
      });
  if (!piece.ok()) return Fail(piece.status());
  PrintPieceStatus(g, *piece);
  return kOk;
}

int ShowStatus(const Globals& g, const StatusOptions& o) {
  RegistryClient client(g.server, g.token, g.channel);
  auto status = FetchStatus(client, o.piece);
  if (!status.ok()) return Fail(status.status());
  if (!o.output.empty()) {
    std::ofstream(o.output, std::ios::trunc)
        << status->statement_json() << "\n";
  }
  PrintPieceStatus(g, status->piece());
  return kOk;
}

int SetInsurers(const Globals& g, const StatusOptions& o) {
  RegistryClient client(g.server, g.token, g.channel);
  v1::SetInsurersRequest request;
  request.set_piece_id(o.piece);
  for (const auto& name : o.insurers) request.add_insurers(name);
  auto piece =
      client.Call<v1::Piece>(request, [&](auto* c, auto& rq, auto* rs) {
        return client.stub().SetInsurers(c, rq, rs);
      });
  if (!piece.ok()) return Fail(piece.status());
  if (g.json) {
    std::cout << ToJson(*piece) << "\n";
  } else {
    std::cout << piece->id() << ": insurers "
              << (piece->insurers().empty()
                      ? std::string("none (the studio's configured ones "
                                    "still count)")
                      : absl::StrJoin(piece->insurers(), ", "))
              << "\n";
  }
  return kOk;
}

struct OwnerOptions {
  std::string piece, key_file, passphrase_file, to, save, output;
  std::string transfer_file;
};

int KeyGen(const Globals& g, const OwnerOptions& o) {
  if (std::ifstream(o.output).good()) {
    return Fail(absl::AlreadyExistsError(
        StrCat(o.output, ": exists; not overwriting a key")));
  }
  auto key = crypto::SigningKey::Generate();
  if (!key.ok()) return Fail(key.status());
  crypto::PassphraseSource source;
  source.file = o.passphrase_file;
  source.prompt = "Passphrase for the new owner key: ";
  auto passphrase = crypto::ReadPassphrase(source);
  if (!passphrase.ok()) return Fail(passphrase.status());
  auto sealed = crypto::SealSigningKey(*key, passphrase->view());
  if (!sealed.ok()) return Fail(sealed.status());
  const std::string pub =
      crypto::ToHex(key->public_key().data(), key->public_key().size());
  // Created 0600 with its bytes (never readable by others, not even for a
  // moment), and never over a file that appeared meanwhile.
  if (auto s = WriteFileSynced(o.output, *sealed, 0600, IfExists::kFail);
      !s.ok()) {
    return Fail(s);
  }
  if (auto s = WriteFileSynced(o.output + ".pub", pub + "\n", 0644,
                               IfExists::kReplace);
      !s.ok()) {
    return Fail(s);
  }
  if (g.json) {
    std::cout << Json{{"public_key", pub}, {"key_file", o.output}}.dump()
              << "\n";
  } else {
    std::cout << "owner public key " << pub << "\nsecret key (encrypted) in "
              << o.output << ", public key in " << o.output << ".pub\n";
  }
  return kOk;
}

int SetOwner(const Globals& g, const OwnerOptions& o) {
  auto key = ReadPublicKey(o.to);
  if (!key.ok()) return Usage(StrCat("owner key: ", key.status().message()));
  RegistryClient client(g.server, g.token, g.channel);
  v1::SetOwnerRequest request;
  request.set_piece_id(o.piece);
  request.set_owner_public_key(crypto::ToHex(key->data(), key->size()));
  auto piece =
      client.Call<v1::Piece>(request, [&](auto* c, auto& rq, auto* rs) {
        return client.stub().SetOwner(c, rq, rs);
      });
  if (!piece.ok()) return Fail(piece.status());
  PrintPieceStatus(g, *piece);
  return kOk;
}

int SubmitTransfer(const Globals& g, const std::string& transfer_json) {
  RegistryClient client(g.server, g.token, g.channel);
  v1::TransferOwnerRequest request;
  request.set_transfer_json(transfer_json);
  auto piece =
      client.Call<v1::Piece>(request, [&](auto* c, auto& rq, auto* rs) {
        return client.stub().TransferOwner(c, rq, rs);
      });
  if (!piece.ok()) return Fail(piece.status());
  PrintPieceStatus(g, *piece);
  return kOk;
}

int Transfer(const Globals& g, const OwnerOptions& o) {
  auto to = ReadPublicKey(o.to);
  if (!to.ok()) return Usage(StrCat("--to: ", to.status().message()));
  auto key = OpenOwnerKey(o.key_file, o.passphrase_file);
  if (!key.ok()) return Fail(key.status());
  RegistryClient client(g.server, g.token, g.channel);
  auto current = FetchStatus(client, o.piece);
  if (!current.ok()) return Fail(current.status());
  const std::string mine(key->public_key().begin(), key->public_key().end());
  if (current->piece().owner_public_key() != mine) {
    return Fail(absl::PermissionDeniedError(
        StrCat("--key: this key does not own piece ", o.piece)));
  }
  const std::string transfer = crypto::EnvelopeToJson(crypto::SignOwnerTransfer(
      {o.piece, *to, current->piece().owner_sequence() + 1}, *key));
  if (!o.save.empty()) std::ofstream(o.save, std::ios::trunc) << transfer;
  return SubmitTransfer(g, transfer);
}

int ShowOwners(const Globals& g, const OwnerOptions& o) {
  RegistryClient client(g.server, g.token, g.channel);
  v1::ListOwnersRequest request;
  request.set_piece_id(o.piece);
  auto owners = client.Call<v1::ListOwnersResponse>(
      request, [&](auto* c, auto& rq, auto* rs) {
        return client.stub().ListOwners(c, rq, rs);
      });
  if (!owners.ok()) return Fail(owners.status());
  if (g.json) {
    std::cout << ToJson(*owners) << "\n";
    return kOk;
  }
  if (owners->owners().empty()) std::cout << o.piece << ": no owner yet\n";
  for (const auto& r : owners->owners()) {
    std::cout << "#" << r.sequence() << " " << r.owner_public_key() << " since "
              << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                  absl::FromUnixSeconds(r.since().seconds()),
                                  absl::UTCTimeZone())
              << ", set by " << r.set_by() << ", log entry " << r.log_index()
              << "\n";
  }
  return kOk;
}

}  // namespace

void AddOwnerCommands(CLI::App& owner, Globals& g, RunSlot& run) {
  owner.require_subcommand(1);
  auto o = std::make_shared<OwnerOptions>();
  auto add_passphrase = [o](CLI::App* cmd) {
    cmd->add_option("--passphrase-file", o->passphrase_file,
                    "the key's passphrase (else $LOUPE_KEY_PASSPHRASE or a "
                    "prompt)");
  };
  auto* keygen = owner.add_subcommand(
      "keygen", "create an owner key: FILE (encrypted) and FILE.pub");
  keygen->add_option("-o,--output", o->output, "the key file to create")
      ->required();
  add_passphrase(keygen);
  keygen->callback([&g, &run, o] { run = [&g, o] { return KeyGen(g, *o); }; });

  auto* set = owner.add_subcommand(
      "set", "set a piece's first owner (the piece's studio, once)");
  set->add_option("piece", o->piece, "piece id")->required();
  set->add_option("owner", o->to, "the owner's public key (hex or .pub file)")
      ->required();
  set->callback([&g, &run, o] { run = [&g, o] { return SetOwner(g, *o); }; });

  auto* transfer = owner.add_subcommand(
      "transfer",
      "sign and submit a transfer to a new owner (no token "
      "needed; signs the next owner sequence number)");
  transfer->add_option("piece", o->piece, "piece id")->required();
  transfer->add_option("--key", o->key_file, "the current owner's key file")
      ->required();
  transfer
      ->add_option("--to", o->to,
                   "the new owner's public key (hex or .pub file)")
      ->required();
  transfer->add_option("--save", o->save, "also save the signed transfer");
  add_passphrase(transfer);
  transfer->callback(
      [&g, &run, o] { run = [&g, o] { return Transfer(g, *o); }; });

  auto* submit = owner.add_subcommand(
      "submit", "submit a transfer signed earlier (saved with --save)");
  submit->add_option("file", o->transfer_file, "the signed transfer")
      ->required()
      ->check(CLI::ExistingFile);
  submit->callback([&g, &run, o] {
    run = [&g, o] {
      auto text = ReadFileToString(o->transfer_file);
      if (!text.ok()) return Usage(std::string(text.status().message()));
      return SubmitTransfer(g, *text);
    };
  });

  auto* show = owner.add_subcommand("show", "a piece's owner history");
  show->add_option("piece", o->piece, "piece id")->required();
  show->callback(
      [&g, &run, o] { run = [&g, o] { return ShowOwners(g, *o); }; });
}

void AddStatusCommands(CLI::App& status, Globals& g, RunSlot& run) {
  status.require_subcommand(1);
  // Owned by the callbacks, which live as long as the app.
  auto o = std::make_shared<StatusOptions>();
  auto* show = status.add_subcommand("show", "show a piece's status and owner");
  show->add_option("piece", o->piece, "piece id")->required();
  show->add_option("-o,--output", o->output,
                   "also save the signed status statement here");
  show->callback(
      [&g, &run, o] { run = [&g, o] { return ShowStatus(g, *o); }; });
  for (const Action& a : kActions) {
    auto* cmd = status.add_subcommand(a.command, a.help);
    cmd->add_option("piece", o->piece, "piece id")->required();
    cmd->add_option("--reason", o->reason,
                    "why (required; logged publicly: no personal data)")
        ->required();
    if (a.action >= v1::STATUS_ACTION_REPORT_LOST) {
      cmd->add_option("--owner-key", o->owner_key,
                      "sign as the owner with this key file (no token needed)");
      cmd->add_option("--passphrase-file", o->passphrase_file,
                      "the owner key's passphrase (else "
                      "$LOUPE_KEY_PASSPHRASE or a prompt)");
    }
    cmd->callback([&g, &run, &a, o] {
      run = [&g, &a, o] { return ChangeStatus(g, a, *o); };
    });
  }
  auto* insurers = status.add_subcommand(
      "insurers",
      "name the insurers that may report this piece lost or stolen (its "
      "studio; replaces the list, none given clears it)");
  insurers->add_option("piece", o->piece, "piece id")->required();
  insurers->add_option("insurer", o->insurers, "insurer principal ids");
  insurers->callback(
      [&g, &run, o] { run = [&g, o] { return SetInsurers(g, *o); }; });
}

}  // namespace loupe::client
