#pragma once

// Signed statements about a piece's standing, and the owner's own signed
// requests:
//  - PieceStatusStatement: the registry's signed, timestamped statement of a
//    piece's status and owner (DSSE, payload type kPieceStatusPayloadType,
//    signed with a trust-root key of role "certificate"), stapled into
//    bundles so that verifiers can judge it offline.
//  - OwnerTransfer: the current owner's signature over (piece, new owner,
//    sequence); the sequence makes it single-use.
//  - OwnerStatusReport: the owner's signed report (lost, stolen,
//    recovered), over the piece's next status sequence number.
// Payloads are canonical JSON; formats in docs/certificate-format.md.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/trust_root.h"

namespace loupe::crypto {

inline constexpr char kPieceStatusPayloadType[] =
    "application/vnd.loupe.piece-status+json";
inline constexpr char kOwnerTransferPayloadType[] =
    "application/vnd.loupe.owner-transfer+json";
inline constexpr char kStatusReportPayloadType[] =
    "application/vnd.loupe.status-report+json";

struct PieceStatusFacts {
  std::string piece_id;
  std::string status;  // "active", "suspended", "revoked", "lost", "stolen"
  uint32_t status_sequence = 0;
  std::string reason;
  std::string changed_by;
  std::string owner;  // Hex public key; empty if none.
  uint32_t owner_sequence = 0;
  absl::Time as_of;   // Whole seconds.
  std::string keyid;  // Set by verification.
};

[[nodiscard]] absl::StatusOr<DsseEnvelope> SignPieceStatus(
    const PieceStatusFacts& facts, const SigningKey& key);
// UNAUTHENTICATED unless signed by a certificate key of `root` valid at
// as_of; INVALID_ARGUMENT naming the field for a malformed statement.
[[nodiscard]] absl::StatusOr<PieceStatusFacts> VerifyPieceStatus(
    const DsseEnvelope& envelope, const TrustRoot& root);

struct OwnerTransfer {
  std::string piece_id;
  PublicKey new_owner{};
  uint32_t sequence = 0;
};

[[nodiscard]] DsseEnvelope SignOwnerTransfer(const OwnerTransfer& transfer,
                                             const SigningKey& owner);
// Parses without checking the signature (to find the piece first).
[[nodiscard]] absl::StatusOr<OwnerTransfer> ParseOwnerTransfer(
    const DsseEnvelope& envelope);
// UNAUTHENTICATED unless signed by `owner`.
[[nodiscard]] absl::StatusOr<OwnerTransfer> VerifyOwnerTransfer(
    const DsseEnvelope& envelope, const PublicKey& owner);

struct OwnerStatusReport {
  std::string piece_id;
  std::string action;  // "report_lost", "report_stolen", "recover"
  std::string reason;
  uint32_t sequence = 0;
};

[[nodiscard]] DsseEnvelope SignStatusReport(const OwnerStatusReport& report,
                                            const SigningKey& owner);
[[nodiscard]] absl::StatusOr<OwnerStatusReport> VerifyStatusReport(
    const DsseEnvelope& envelope, const PublicKey& owner);

}  // namespace loupe::crypto
