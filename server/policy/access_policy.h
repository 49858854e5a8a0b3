#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "loupe/v1/config.pb.h"
#include "loupe/v1/twin.pb.h"
#include "server/policy/rate_limiter.h"

namespace loupe::server {

// Who is calling, as established from a bearer token.
struct Principal {
  std::string id;
  v1::Role role = v1::ROLE_UNSPECIFIED;
  // For studios: the studio this principal acts for.
  std::string studio_id;
};

// Clears what only callers with a token may see of a piece (who may read
// its files, which insurers it names) when `who` is anonymous.
void HideGrants(const Principal& who, v1::Piece& piece);

// The one place that decides who may do what. Built once from the
// configuration; immutable and thread-safe afterwards.
//
// Rules:
//  - Callers are identified by a bearer token, or over mutual TLS by a
//    verified client certificate's common name; a token that is sent wins.
//  - Metadata (pieces, versions) is readable by every authenticated principal:
//    it is what verification needs.
//  - Only a studio creates pieces, for itself, and adds versions to its own
//    pieces; only studios upload assets.
//  - Asset bytes (the studio's design) are readable by the piece's studio,
//    admins, the piece's asset_readers and the studio's configured
//    asset_readers. Everyone else gets PERMISSION_DENIED.
//  - Status changes: AuthorizeStatusChange (docs/api.md, "Status").
class AccessPolicy {
 public:
  // INVALID_ARGUMENT naming the principal if the configuration is unusable.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<AccessPolicy>> FromConfig(
      const v1::ServerConfig& config);

  // `authorization` is the request's "authorization" header value
  // ("Bearer <token>"), empty if absent. Tokens are compared by SHA-256 only.
  [[nodiscard]] absl::StatusOr<Principal> Authenticate(
      std::string_view authorization) const;

  // The principal a verified client certificate with this subject common
  // name identifies (mutual TLS); UNAUTHENTICATED if none.
  [[nodiscard]] absl::StatusOr<Principal> AuthenticateCertificate(
      std::string_view common_name) const;

  // Spends one request of `who`'s rate (limits.requests_per_second), or,
  // for an anonymous caller, of its address `peer`'s
  // (limits.anonymous_requests_per_second). RESOURCE_EXHAUSTED beyond it.
  [[nodiscard]] absl::Status Admit(const Principal& who,
                                   std::string_view peer) const;

  [[nodiscard]] absl::Status CheckCreatePiece(const Principal& who,
                                              std::string_view studio_id) const;
  [[nodiscard]] absl::Status CheckWritePiece(const Principal& who,
                                             const v1::Piece& piece) const;
  [[nodiscard]] absl::Status CheckUpload(const Principal& who) const;
  [[nodiscard]] absl::Status CheckReadAssets(const Principal& who,
                                             const v1::Piece& piece) const;

  // Who may change `piece`'s status with `action` (its word, as logged).
  // The studio's actions (`by_studio`: revoke, suspend, unsuspend): the
  // piece's studio or an admin. The others (report lost, report stolen,
  // recover): the owner, by a signed report (`owner_report`, whose
  // signature the caller checks against the stored owner key), an insurer
  // the piece or its studio names, or an admin. While the piece is lost or
  // stolen, that open report is changed (reported stolen) or cleared
  // (recovered) only by its reporter (status_changed_by), the owner or an
  // admin. Returns the name logged as "by": "studio:<id>", "insurer:<id>",
  // "admin:<id>" or "owner". UNAUTHENTICATED with neither token nor report;
  // PERMISSION_DENIED naming "action" and the rule otherwise. Whether the
  // current status allows the action at all is the caller's check.
  [[nodiscard]] absl::StatusOr<std::string> AuthorizeStatusChange(
      const Principal& who, bool owner_report, std::string_view action,
      bool by_studio, const v1::Piece& piece) const;

  // INVALID_ARGUMENT naming "<field>[i]" unless every name is a configured
  // ROLE_INSURER principal (at most 16, none twice).
  [[nodiscard]] absl::Status CheckInsurerNames(
      std::string_view field,
      const google::protobuf::RepeatedPtrField<std::string>& names) const;

 private:
  AccessPolicy() = default;

  std::unique_ptr<RateLimiter> principal_rate_, anonymous_rate_;
  // sha256(token) hex -> principal.
  std::unordered_map<std::string, Principal> by_token_hash_;
  // Client certificate common name -> principal.
  std::unordered_map<std::string, Principal> by_certificate_name_;
  // studio id -> principals the studio lets read all of its assets.
  std::unordered_map<std::string, std::vector<std::string>> studio_readers_;
  // studio id -> the insurers the studio names for all of its pieces.
  std::unordered_map<std::string, std::vector<std::string>> studio_insurers_;
  // Ids of the ROLE_INSURER principals.
  std::set<std::string, std::less<>> insurer_ids_;

  // True if `who` is an insurer that `piece` or its studio names.
  [[nodiscard]] bool NamesInsurer(const Principal& who,
                                  const v1::Piece& piece) const;
};

}  // namespace loupe::server
