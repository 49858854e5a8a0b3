// Registry: piece status, owners, and certificates with their log proofs.
#include <google/protobuf/util/time_util.h>

#include "absl/time/clock.h"
#include "base/str_cat.h"
#include "crypto/bundle.h"
#include "crypto/log_entry.h"
#include "crypto/piece_status.h"
#include "server/registry/geometry_check.h"
#include "server/registry/registry.h"
#include "server/registry/validate.h"

namespace loupe::server {
namespace {

using google::protobuf::util::TimeUtil;
using Json = nlohmann::json;

struct Transition {
  v1::StatusAction action;
  const char* word;  // In owner reports and log entries.
  // The studio's action (or an admin's); else the owner's, a named
  // insurer's or an admin's (AccessPolicy::AuthorizeStatusChange).
  bool by_studio;
  std::vector<v1::PieceStatus> from;
  v1::PieceStatus to;
};

// The status rules (docs/api.md). REVOKED is final.
const std::vector<Transition>& Transitions() {
  using enum v1::PieceStatus;
  static const auto* table = new std::vector<Transition>{
      {v1::STATUS_ACTION_REVOKE,
       "revoke",
       true,
       {PIECE_STATUS_ACTIVE, PIECE_STATUS_SUSPENDED, PIECE_STATUS_LOST,
        PIECE_STATUS_STOLEN},
       PIECE_STATUS_REVOKED},
      {v1::STATUS_ACTION_SUSPEND,
       "suspend",
       true,
       {PIECE_STATUS_ACTIVE},
       PIECE_STATUS_SUSPENDED},
      {v1::STATUS_ACTION_UNSUSPEND,
       "unsuspend",
       true,
       {PIECE_STATUS_SUSPENDED},
       PIECE_STATUS_ACTIVE},
      {v1::STATUS_ACTION_REPORT_LOST,
       "report_lost",
       false,
       {PIECE_STATUS_ACTIVE},
       PIECE_STATUS_LOST},
      {v1::STATUS_ACTION_REPORT_STOLEN,
       "report_stolen",
       false,
       {PIECE_STATUS_ACTIVE, PIECE_STATUS_LOST},
       PIECE_STATUS_STOLEN},
      {v1::STATUS_ACTION_RECOVER,
       "recover",
       false,
       {PIECE_STATUS_LOST, PIECE_STATUS_STOLEN},
       PIECE_STATUS_ACTIVE},
  };
  return *table;
}

std::string NowUtc(absl::Time now) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now, absl::UTCTimeZone());
}

// No owner change of any kind (SetOwner, TransferOwner) while a piece is
// reported lost or stolen (the thief's buyer must not become its owner, nor
// clear the report as the new owner) or revoked (final).
constexpr std::pair<v1::PieceStatus, const char*> kNoOwnerChange[] = {
    {v1::PIECE_STATUS_LOST, "reported lost; no owner change until recovered"},
    {v1::PIECE_STATUS_STOLEN,
     "reported stolen; no owner change until recovered"},
    {v1::PIECE_STATUS_REVOKED, "revoked; its owner can no longer change"},
};

// FAILED_PRECONDITION naming `field` and the status, or OK.
absl::Status CheckOwnerMayChange(const v1::Piece& piece,
                                 std::string_view field) {
  for (const auto& [status, why] : kNoOwnerChange) {
    if (piece.status() == status) {
      return absl::FailedPreconditionError(
          StrCat(field, ": the piece is ", why));
    }
  }
  return absl::OkStatus();
}

}  // namespace

void Registry::ChangeStatus(const Principal& who,
                            const v1::ChangeStatusRequest& request,
                            PieceCallback done) {
  if (auto s = ValidatePieceId("piece_id", request.piece_id()); !s.ok()) {
    return done(s);
  }
  const Transition* t = nullptr;
  for (const auto& candidate : Transitions()) {
    if (candidate.action == request.action()) t = &candidate;
  }
  if (t == nullptr) {
    return done(absl::InvalidArgumentError(
        "action: one of revoke, suspend, unsuspend, report_lost, "
        "report_stolen, recover"));
  }
  if (auto s = ValidateStatusReason("reason", request.reason()); !s.ok()) {
    return done(s);
  }
  std::optional<crypto::DsseEnvelope> report;
  if (!request.owner_report_json().empty()) {
    auto parsed = crypto::EnvelopeFromJson(request.owner_report_json());
    if (!parsed.ok()) {
      return done(absl::InvalidArgumentError(
          StrCat("owner_report_json: ", parsed.status().message())));
    }
    report = *std::move(parsed);
  }
  if (who.id.empty() && !report) {
    return done(absl::UnauthenticatedError(
        "authorization: a token, or the owner's signed report "
        "(owner_report_json), is needed"));
  }
  // Authority is decided on the piece as it is committed, so a report
  // opened or cleared concurrently cannot be bypassed.
  ledger_.MutatePiece(
      request.piece_id(),
      [t, report, who, policy = policy_,
       request](v1::Piece& piece) -> absl::StatusOr<Ledger::PieceChange> {
        const bool owner_report = report.has_value() && !t->by_studio;
        if (report) {
          auto s = CheckOwnerReport(*report, piece, t->word, request);
          if (!s.ok()) return s;
        }
        auto by = policy->AuthorizeStatusChange(who, owner_report, t->word,
                                                t->by_studio, piece);
        if (!by.ok()) return by.status();
        if (std::find(t->from.begin(), t->from.end(), piece.status()) ==
            t->from.end()) {
          return absl::FailedPreconditionError(
              StrCat("action: cannot ", t->word, " a piece that is ",
                     PieceStatusWord(piece.status())));
        }
        const absl::Time now = absl::Now();
        const std::string previous = PieceStatusWord(piece.status());
        piece.set_status(t->to);
        piece.set_status_sequence(piece.status_sequence() + 1);
        piece.set_status_reason(request.reason());
        piece.set_status_changed_by(*by);
        *piece.mutable_status_changed_at() =
            TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(now));
        auto entry = crypto::EncodeLogEntry(
            "status", {{"piece_id", piece.id()},
                       {"status", PieceStatusWord(t->to)},
                       {"previous", previous},
                       {"sequence", piece.status_sequence()},
                       {"by", *by},
                       {"reason", request.reason()},
                       {"at", NowUtc(now)}});
        if (!entry.ok()) return entry.status();
        return Ledger::PieceChange{{*std::move(entry)}, std::nullopt};
      },
      std::move(done));
}

absl::Status Registry::CheckOwnerReport(
    const crypto::DsseEnvelope& envelope, const v1::Piece& piece,
    std::string_view action, const v1::ChangeStatusRequest& request) {
  if (piece.owner_public_key().size() != crypto::kPublicKeySize) {
    return absl::FailedPreconditionError(
        "owner_report_json: the piece has no owner yet");
  }
  crypto::PublicKey owner;
  std::copy(piece.owner_public_key().begin(), piece.owner_public_key().end(),
            owner.begin());
  auto report = crypto::VerifyStatusReport(envelope, owner);
  if (!report.ok()) return report.status();
  if (report->piece_id != piece.id() || report->action != action ||
      report->reason != request.reason()) {
    return absl::InvalidArgumentError(
        "owner_report_json: signed for another piece, action or reason");
  }
  if (report->sequence != piece.status_sequence() + 1) {
    return absl::FailedPreconditionError(
        StrCat("owner_report_json: signed for status sequence ",
               report->sequence, " but the next is ",
               piece.status_sequence() + 1, " (a replayed or stale report)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::PieceStatusStatement> Registry::GetStatus(
    const Principal& who, const v1::GetStatusRequest& request) {
  if (auto s = ValidatePieceId("piece_id", request.piece_id()); !s.ok()) {
    return s;
  }
  if (signer_ == nullptr) {
    return absl::FailedPreconditionError(
        "this registry has no signing key configured (signing.key_file)");
  }
  auto piece = store_->GetPiece(request.piece_id());
  if (!piece.ok()) return piece.status();
  auto envelope = signer_->SignStatus(*piece, absl::Now());
  if (!envelope.ok()) return envelope.status();
  v1::PieceStatusStatement out;
  out.set_statement_json(crypto::EnvelopeToJson(*envelope));
  *out.mutable_piece() = *std::move(piece);
  HideGrants(who, *out.mutable_piece());
  return out;
}

void Registry::SetOwner(const Principal& who,
                        const v1::SetOwnerRequest& request,
                        PieceCallback done) {
  if (auto s = ValidatePieceId("piece_id", request.piece_id()); !s.ok()) {
    return done(s);
  }
  auto key = crypto::ParsePublicKeyHex(request.owner_public_key());
  if (!key.ok()) {
    return done(absl::InvalidArgumentError(
        StrCat("owner_public_key: ", key.status().message())));
  }
  auto piece = store_->GetPiece(request.piece_id());
  if (!piece.ok()) return done(piece.status());
  if (auto s = policy_->CheckWritePiece(who, *piece); !s.ok()) return done(s);
  const std::string set_by = StrCat("studio:", who.studio_id);
  ledger_.MutatePiece(
      request.piece_id(),
      [key = *key,
       set_by](v1::Piece& piece) -> absl::StatusOr<Ledger::PieceChange> {
        if (auto s = CheckOwnerMayChange(piece, "piece_id"); !s.ok()) return s;
        if (piece.owner_sequence() != 0) {
          return absl::FailedPreconditionError(
              "owner_public_key: the piece already has an owner; only the "
              "owner can transfer it (TransferOwner)");
        }
        return ChangeOwner(piece, key, set_by, "");
      },
      std::move(done));
}

void Registry::TransferOwner(const Principal& who,
                             const v1::TransferOwnerRequest& request,
                             PieceCallback done) {
  auto envelope = crypto::EnvelopeFromJson(request.transfer_json());
  if (!envelope.ok()) {
    return done(absl::InvalidArgumentError(
        StrCat("transfer_json: ", envelope.status().message())));
  }
  auto transfer = crypto::ParseOwnerTransfer(*envelope);
  if (!transfer.ok()) return done(transfer.status());
  if (auto s = ValidatePieceId("transfer.piece_id", transfer->piece_id);
      !s.ok()) {
    return done(s);
  }
  ledger_.MutatePiece(
      transfer->piece_id,
      [envelope = *envelope, json = request.transfer_json()](
          v1::Piece& piece) -> absl::StatusOr<Ledger::PieceChange> {
        if (auto s = CheckOwnerMayChange(piece, "transfer_json"); !s.ok()) {
          return s;
        }
        if (piece.owner_public_key().size() != crypto::kPublicKeySize) {
          return absl::FailedPreconditionError(
              "transfer_json: the piece has no owner yet; its studio sets "
              "the first (SetOwner)");
        }
        crypto::PublicKey owner;
        std::copy(piece.owner_public_key().begin(),
                  piece.owner_public_key().end(), owner.begin());
        auto verified = crypto::VerifyOwnerTransfer(envelope, owner);
        if (!verified.ok()) return verified.status();
        if (verified->sequence != piece.owner_sequence() + 1) {
          return absl::FailedPreconditionError(StrCat(
              "transfer_json: signed for owner sequence ", verified->sequence,
              " but the next is ", piece.owner_sequence() + 1,
              " (a replayed or stale transfer)"));
        }
        return ChangeOwner(piece, verified->new_owner, "owner-signature", json);
      },
      std::move(done));
}

absl::StatusOr<Ledger::PieceChange> Registry::ChangeOwner(
    v1::Piece& piece, const crypto::PublicKey& owner, const std::string& set_by,
    const std::string& authorization) {
  const absl::Time now = absl::Now();
  const std::string owner_raw(owner.begin(), owner.end());
  piece.set_owner_public_key(owner_raw);
  piece.set_owner_sequence(piece.owner_sequence() + 1);
  auto entry =
      crypto::EncodeLogEntry("owner", {{"piece_id", piece.id()},
                                       {"owner", crypto::ToHex(owner_raw)},
                                       {"sequence", piece.owner_sequence()},
                                       {"set_by", set_by},
                                       {"authorization", authorization},
                                       {"at", NowUtc(now)}});
  if (!entry.ok()) return entry.status();
  Ledger::PieceChange change;
  change.log_entries.push_back(*std::move(entry));
  auto& record = change.owner.emplace();
  record.set_sequence(piece.owner_sequence());
  record.set_owner_public_key(crypto::ToHex(owner_raw));
  *record.mutable_since() =
      TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(now));
  record.set_set_by(set_by);
  return change;
}

absl::StatusOr<v1::ListOwnersResponse> Registry::ListOwners(
    const Principal& who, const v1::ListOwnersRequest& request) {
  if (auto s = ValidatePieceId("piece_id", request.piece_id()); !s.ok()) {
    return s;
  }
  auto owners = store_->ListOwners(request.piece_id());
  if (!owners.ok()) return owners.status();
  v1::ListOwnersResponse out;
  for (auto& o : *owners) *out.add_owners() = std::move(o);
  return out;
}

absl::Status Registry::BeginGeometryCheck(
    const Principal& who, const v1::CheckGeometryHeader& header) {
  return CheckGeometryHeader(*store_, *policy_, who, header,
                             /*can_record=*/signer_ != nullptr);
}

void Registry::RecordGeometryCheck(v1::GeometryCheck check,
                                   Ledger::CheckCallback done) {
  auto ready = RecordableCheck(std::move(check));
  if (!ready.ok()) return done(ready.status());
  ledger_.RecordCheck(std::move(ready->first), std::move(ready->second),
                      std::move(done));
}

absl::StatusOr<v1::GeometryCheck> Registry::FinishGeometryCheck(
    const Principal& who, const v1::CheckGeometryHeader& header,
    const std::string& file) {
  return RunGeometryCheck(*store_, signer_, who, header, file,
                          limits_.max_mesh_triangles(),
                          geometry_->options().threads);
}

absl::Status Registry::BeginIdentification(
    const Principal& who, const v1::IdentifyPieceHeader& header) {
  if (auto s = CheckIdentifyHeader(who, header); !s.ok()) return s;
  if (!index_status_.ok()) {
    return absl::UnavailableError(
        StrCat("identification: the signature index did not load: ",
               index_status_.message()));
  }
  return identify_rate_.Admit(who.id, who.id);
}

absl::StatusOr<v1::Identification> Registry::FinishIdentification(
    const Principal& who, const v1::IdentifyPieceHeader& header,
    const std::string& file) {
  // Versions other front ends recorded: a NO MATCH must not come from a
  // stale index.
  if (auto s = index_.CatchUp(*store_); !s.ok()) {
    return absl::Status(s.code(),
                        StrCat("identification: the newest registered versions "
                               "could not be read: ",
                               s.message()));
  }
  return RunIdentification(*store_, index_, signer_, who, header, file,
                           limits_.max_mesh_triangles(),
                           geometry_->options().threads);
}

absl::StatusOr<v1::Certificate> Registry::WithLogProof(
    v1::Certificate certificate, bool staple_status) {
  if (log_ == nullptr) return certificate;
  auto bundle = crypto::ParseBundle(certificate.bundle_json());
  if (!bundle.ok()) return absl::DataLossError("stored bundle is corrupt");
  // A certificate issued before this registry kept a log has no entry: it
  // is handed out without a proof (and `loupe verify` says so).
  auto logged = store_->LogEntries(certificate.log_index(), 1);
  if (!logged.ok()) return logged.status();
  if (!logged->empty() &&
      logged->front() == crypto::CertificateLogEntry(
                             bundle->certificate.payload,
                             certificate.piece_id(), certificate.version())) {
    auto proof = log_->ProveEntry(certificate.log_index());
    if (!proof.ok()) return proof.status();
    bundle->log = *std::move(proof);
  }
  if (auto s = AddEvidenceProofs(*store_, *log_, *bundle); !s.ok()) return s;
  if (staple_status) {
    auto piece = store_->GetPiece(certificate.piece_id());
    if (!piece.ok()) return piece.status();
    auto status = signer_->SignStatus(*piece, absl::Now());
    if (!status.ok()) return status.status();
    bundle->status = *std::move(status);
  }
  // The current chain: a bundle issued before a rotation must lead its
  // verifier to the key that signed today's checkpoint.
  bundle->roots = signer_->Rotations();
  certificate.set_bundle_json(crypto::EncodeBundle(*bundle));
  return certificate;
}

}  // namespace loupe::server
