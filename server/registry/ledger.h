#pragma once

// The registry's write rules, written once above every storage engine:
// version numbering and the parent check, studio references, asset
// ownership and sizes, certificate idempotence, owner records, and what
// each write appends to the transparency log. Each write is one
// storage::Store::Commit: atomic and durable, and a refused write leaves
// nothing (its log entries included).

#include <functional>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "loupe/v1/registry.pb.h"
#include "loupe/v1/twin.pb.h"
#include "server/storage/store.h"

namespace loupe::server {

// The log entry of a twin version (docs/transparency-log.md).
[[nodiscard]] std::string VersionLogEntry(const v1::TwinVersion& version,
                                          std::string_view studio_id);

// Thread-safe (the store serialises commits). Every callback runs once, on
// a storage thread, when the write is durable or refused, and must not
// block. Errors: NOT_FOUND naming piece_id, ALREADY_EXISTS, ABORTED (a
// version's parent is no longer current: re-read and retry),
// FAILED_PRECONDITION (an asset the studio has not uploaded),
// INVALID_ARGUMENT naming the field, DATA_LOSS / INTERNAL from storage.
class Ledger {
 public:
  // Not owned; must outlive the Ledger.
  explicit Ledger(storage::Store* store) : store_(store) {}

  using StatusCallback = std::function<void(absl::Status)>;
  using VersionCallback = std::function<void(absl::StatusOr<v1::TwinVersion>)>;
  using CertificateCallback =
      std::function<void(absl::StatusOr<v1::Certificate>)>;
  using PieceCallback = std::function<void(absl::StatusOr<v1::Piece>)>;
  using CheckCallback = std::function<void(absl::StatusOr<v1::GeometryCheck>)>;

  // Stores a new piece and, if given, its version 1 (numbered 1, and the
  // piece's current_version set to 1), atomically. ALREADY_EXISTS if the
  // studio already used piece.studio_reference() (the message then carries
  // the existing id) or the id is taken; the first version is checked like
  // AppendVersion's, its errors naming "first_version".
  void CreatePiece(v1::Piece piece,
                   std::optional<v1::TwinVersion> first_version,
                   StatusCallback done);

  // Appends `version` (number = parent + 1) to its piece and makes it
  // current, logging it; `done` gets the stored version. ABORTED unless
  // version.parent_number() is the piece's current version;
  // FAILED_PRECONDITION if an asset is missing or was not uploaded by
  // `studio_id`; INVALID_ARGUMENT naming size_bytes if an asset's size
  // differs from the stored one. Cited checks (version.evidence) must pass
  // the evidence rules (evidence.h: this piece, the reason's purpose, a
  // stated reason for a failed check, checked against the parent); their
  // facts are copied into the stored version and its log entry.
  void AppendVersion(v1::TwinVersion version, std::string studio_id,
                     VersionCallback done);

  // Stores `certificate` unless its piece version already has one; `done`
  // gets whichever is stored (so issuing is idempotent). A new
  // certificate's `log_entry` is appended to the log in the same write and
  // its index set as certificate.log_index.
  void PutCertificate(v1::Certificate certificate, std::string log_entry,
                      CertificateCallback done);

  // Stores a recorded geometry check (check.check_id(), check.piece_id()
  // and its signed statement set) with `log_entry` appended to the log in
  // the same write, its index set as check.log_index; `done` gets the
  // stored check (the first one if the same id was recorded before).
  // NOT_FOUND naming piece_id if the piece is absent.
  void RecordCheck(v1::GeometryCheck check, std::string log_entry,
                   CheckCallback done);

  // What a change to a piece logs: entries appended in order, and the new
  // owner record if the owner changed (its log_index is set to the last
  // entry's index).
  struct PieceChange {
    std::vector<std::string> log_entries;
    std::optional<v1::OwnerRecord> owner;
  };
  // Changes the piece in place; an error refuses the change. Runs on the
  // commit thread: no blocking.
  using PieceMutation =
      std::function<absl::StatusOr<PieceChange>(v1::Piece& piece)>;
  // Reads the piece, applies `mutate` and stores the result with its log
  // entries, atomically; `done` gets the stored piece. NOT_FOUND naming
  // piece_id if absent.
  void MutatePiece(std::string piece_id, PieceMutation mutate,
                   PieceCallback done);

  // Blocking forms (tests and tools; never on an RPC thread).
  [[nodiscard]] absl::Status CreatePieceAndWait(
      v1::Piece piece, std::optional<v1::TwinVersion> first_version = {});
  [[nodiscard]] absl::StatusOr<v1::TwinVersion> AppendVersionAndWait(
      v1::TwinVersion version, std::string studio_id);
  [[nodiscard]] absl::StatusOr<v1::Piece> MutatePieceAndWait(
      std::string piece_id, PieceMutation mutate);
  [[nodiscard]] absl::StatusOr<v1::Certificate> PutCertificateAndWait(
      v1::Certificate certificate, std::string log_entry);
  [[nodiscard]] absl::StatusOr<v1::GeometryCheck> RecordCheckAndWait(
      v1::GeometryCheck check, std::string log_entry);

 private:
  storage::Store* store_;
};

}  // namespace loupe::server
