#include "server/registry/ledger.h"

#include <memory>
#include <utility>

#include "base/str_cat.h"
#include "crypto/log_entry.h"
#include "crypto/sha256.h"
#include "server/registry/evidence.h"

namespace loupe::server {
namespace {

using storage::Transaction;

// The piece, or NOT_FOUND naming piece_id.
absl::StatusOr<v1::Piece> ReadPiece(Transaction& txn,
                                    std::string_view piece_id) {
  auto piece = txn.FindPiece(piece_id);
  if (!piece.ok()) return piece.status();
  if (!piece->has_value()) {
    return absl::NotFoundError(StrCat("piece_id: no piece ", piece_id));
  }
  return **std::move(piece);
}

absl::Status CreatePieceIn(Transaction& txn, const v1::Piece& piece) {
  auto existing =
      txn.FindPieceByReference(piece.studio_id(), piece.studio_reference());
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    return absl::AlreadyExistsError(
        StrCat("studio_reference: already registered as piece ", **existing));
  }
  auto taken = txn.FindPiece(piece.id());
  if (!taken.ok()) return taken.status();
  if (taken->has_value()) {
    return absl::AlreadyExistsError("id: piece already exists");
  }
  txn.InsertPiece(piece);
  return absl::OkStatus();
}

// Every asset uploaded by `studio_id`, with its stored size.
absl::Status CheckAssets(Transaction& txn, const v1::TwinVersion& version,
                         std::string_view studio_id,
                         std::string_view field_prefix) {
  for (int i = 0; i < version.assets_size(); ++i) {
    const auto& asset = version.assets(i);
    const std::string field = StrCat(field_prefix, ".assets[", i, "]");
    auto sha = crypto::ParseSha256Hex(asset.sha256());
    if (!sha.ok()) {
      return absl::InvalidArgumentError(
          StrCat(field, ".sha256: ", sha.status().message()));
    }
    auto owned = txn.IsAssetUploadedBy(*sha, studio_id);
    if (!owned.ok()) return owned.status();
    auto size = txn.FindAssetSize(*sha);
    if (!size.ok()) return size.status();
    if (!*owned || !size->has_value()) {
      return absl::FailedPreconditionError(StrCat(
          field, ".sha256: ", asset.sha256(), " was not uploaded by studio ",
          studio_id, "; upload it first"));
    }
    if (**size != asset.size_bytes()) {
      return absl::InvalidArgumentError(
          StrCat(field, ".size_bytes: ", asset.size_bytes(),
                 " but the stored asset has ", **size, " bytes"));
    }
  }
  return absl::OkStatus();
}

// Checks and stores `version`, setting its number. Errors name fields under
// `field` ("version" or "first_version").
absl::Status AppendVersionIn(Transaction& txn, v1::TwinVersion& version,
                             std::string_view studio_id,
                             std::string_view field) {
  auto piece = ReadPiece(txn, version.piece_id());
  if (!piece.ok()) return piece.status();
  if (version.parent_number() != piece->current_version()) {
    return absl::AbortedError(
        StrCat(field, ".parent_number: ", version.parent_number(),
               " is not the current version ", piece->current_version(),
               "; versions are immutable, re-read the piece and retry"));
  }
  if (auto s = CheckAssets(txn, version, studio_id, field); !s.ok()) return s;
  if (auto s = CiteEvidence(txn, version, field); !s.ok()) return s;
  version.set_number(piece->current_version() + 1);
  piece->set_current_version(version.number());
  auto logged = txn.AppendLog(VersionLogEntry(version, studio_id));
  if (!logged.ok()) return logged.status();
  txn.InsertVersion(version);
  txn.UpdatePiece(*piece);
  return absl::OkStatus();
}

// Calls `done` with *result if `s` is OK, else with `s`.
template <typename T, typename Callback>
auto Deliver(std::shared_ptr<T> result, Callback done) {
  return [result = std::move(result), done = std::move(done)](absl::Status s) {
    if (s.ok()) {
      done(std::move(*result));
    } else {
      done(std::move(s));
    }
  };
}

}  // namespace

std::string VersionLogEntry(const v1::TwinVersion& version,
                            std::string_view studio_id) {
  nlohmann::json assets = nlohmann::json::array();
  for (const auto& a : version.assets()) {
    assets.push_back({{"role", v1::AssetRole_Name(a.role())},
                      {"sha256", a.sha256()},
                      {"size_bytes", a.size_bytes()}});
  }
  nlohmann::json fields = {{"piece_id", version.piece_id()},
                           {"studio_id", std::string(studio_id)},
                           {"version", version.number()},
                           {"parent", version.parent_number()},
                           {"reason", v1::VersionReason_Name(version.reason())},
                           {"assets", assets}};
  // Cited checks (absent when none, so older entries are unchanged), with
  // the studio's reason for citing a failed one.
  if (version.evidence_size() > 0) {
    nlohmann::json evidence = nlohmann::json::array();
    for (const auto& e : version.evidence()) {
      nlohmann::json cited = {{"check_id", e.check_id()},
                              {"pass", e.pass()},
                              {"statement_sha256", e.statement_sha256()}};
      if (!e.override_reason().empty()) {
        cited["override_reason"] = e.override_reason();
      }
      evidence.push_back(std::move(cited));
    }
    fields["evidence"] = std::move(evidence);
  }
  // Ids, enum names, hex digests, integers and validated UTF-8 reasons:
  // always canonical.
  return *crypto::EncodeLogEntry("version", std::move(fields));
}

void Ledger::CreatePiece(v1::Piece piece,
                         std::optional<v1::TwinVersion> first_version,
                         StatusCallback done) {
  store_->Commit(
      [piece = std::move(piece),
       first = std::move(first_version)](Transaction& txn) mutable {
        if (auto s = CreatePieceIn(txn, piece); !s.ok()) return s;
        if (!first) return absl::OkStatus();
        return AppendVersionIn(txn, *first, piece.studio_id(), "first_version");
      },
      std::move(done));
}

void Ledger::AppendVersion(v1::TwinVersion version, std::string studio_id,
                           VersionCallback done) {
  auto stored = std::make_shared<v1::TwinVersion>(std::move(version));
  store_->Commit(
      [stored, studio_id = std::move(studio_id)](Transaction& txn) {
        return AppendVersionIn(txn, *stored, studio_id, "version");
      },
      Deliver(stored, std::move(done)));
}

void Ledger::PutCertificate(v1::Certificate certificate, std::string log_entry,
                            CertificateCallback done) {
  auto stored = std::make_shared<v1::Certificate>(std::move(certificate));
  store_->Commit(
      [stored, log_entry = std::move(log_entry)](Transaction& txn) {
        auto existing =
            txn.FindCertificate(stored->piece_id(), stored->version());
        if (!existing.ok()) return existing.status();
        if (existing->has_value()) {  // Already issued: keep the first one.
          *stored = **std::move(existing);
          return absl::OkStatus();
        }
        auto index = txn.AppendLog(log_entry);
        if (!index.ok()) return index.status();
        stored->set_log_index(*index);
        txn.InsertCertificate(*stored);
        return absl::OkStatus();
      },
      Deliver(stored, std::move(done)));
}

void Ledger::RecordCheck(v1::GeometryCheck check, std::string log_entry,
                         CheckCallback done) {
  auto stored = std::make_shared<v1::GeometryCheck>(std::move(check));
  store_->Commit(
      [stored, log_entry = std::move(log_entry)](Transaction& txn) {
        auto piece = ReadPiece(txn, stored->piece_id());
        if (!piece.ok()) return piece.status();
        auto existing = txn.FindCheck(stored->check_id());
        if (!existing.ok()) return existing.status();
        if (existing->has_value()) {  // The same statement: keep the first.
          *stored = **std::move(existing);
          return absl::OkStatus();
        }
        auto index = txn.AppendLog(log_entry);
        if (!index.ok()) return index.status();
        stored->set_log_index(*index);
        txn.InsertCheck(*stored);
        return absl::OkStatus();
      },
      Deliver(stored, std::move(done)));
}

void Ledger::MutatePiece(std::string piece_id, PieceMutation mutate,
                         PieceCallback done) {
  auto stored = std::make_shared<v1::Piece>();
  store_->Commit(
      [stored, piece_id = std::move(piece_id),
       mutate = std::move(mutate)](Transaction& txn) -> absl::Status {
        auto piece = ReadPiece(txn, piece_id);
        if (!piece.ok()) return piece.status();
        auto change = mutate(*piece);
        if (!change.ok()) return change.status();
        uint64_t last_index = 0;
        for (const auto& entry : change->log_entries) {
          auto index = txn.AppendLog(entry);
          if (!index.ok()) return index.status();
          last_index = *index;
        }
        if (change->owner) {
          change->owner->set_log_index(last_index);
          txn.InsertOwner(piece_id, *change->owner);
        }
        txn.UpdatePiece(*piece);
        *stored = *std::move(piece);
        return absl::OkStatus();
      },
      Deliver(stored, std::move(done)));
}

namespace {

// Waits for a callback-style call's result.
template <typename Result, typename Start>
Result Wait(Start start) {
  std::promise<Result> result;
  start([&](Result r) { result.set_value(std::move(r)); });
  return result.get_future().get();
}

}  // namespace

absl::Status Ledger::CreatePieceAndWait(
    v1::Piece piece, std::optional<v1::TwinVersion> first_version) {
  return Wait<absl::Status>([&](auto done) {
    CreatePiece(std::move(piece), std::move(first_version), std::move(done));
  });
}

absl::StatusOr<v1::TwinVersion> Ledger::AppendVersionAndWait(
    v1::TwinVersion version, std::string studio_id) {
  return Wait<absl::StatusOr<v1::TwinVersion>>([&](auto done) {
    AppendVersion(std::move(version), std::move(studio_id), std::move(done));
  });
}

absl::StatusOr<v1::Piece> Ledger::MutatePieceAndWait(std::string piece_id,
                                                     PieceMutation mutate) {
  return Wait<absl::StatusOr<v1::Piece>>([&](auto done) {
    MutatePiece(std::move(piece_id), std::move(mutate), std::move(done));
  });
}

absl::StatusOr<v1::GeometryCheck> Ledger::RecordCheckAndWait(
    v1::GeometryCheck check, std::string log_entry) {
  return Wait<absl::StatusOr<v1::GeometryCheck>>([&](auto done) {
    RecordCheck(std::move(check), std::move(log_entry), std::move(done));
  });
}

absl::StatusOr<v1::Certificate> Ledger::PutCertificateAndWait(
    v1::Certificate certificate, std::string log_entry) {
  return Wait<absl::StatusOr<v1::Certificate>>([&](auto done) {
    PutCertificate(std::move(certificate), std::move(log_entry),
                   std::move(done));
  });
}

}  // namespace loupe::server
