#include "server/policy/access_policy.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "base/str_cat.h"
#include "crypto/sha256.h"

namespace loupe::server {
namespace {

bool Contains(const auto& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

void HideGrants(const Principal& who, v1::Piece& piece) {
  if (!who.id.empty()) return;
  piece.clear_asset_readers();
  piece.clear_insurers();
}

absl::StatusOr<std::unique_ptr<AccessPolicy>> AccessPolicy::FromConfig(
    const v1::ServerConfig& config) {
  std::unique_ptr<AccessPolicy> policy(new AccessPolicy());
  std::set<std::string> ids;
  for (const auto& p : config.principals()) {
    const std::string where = StrCat("principals[", p.id(), "]");
    if (p.id().empty()) {
      return absl::InvalidArgumentError("principals: a principal has no id");
    }
    if (!ids.insert(p.id()).second) {
      return absl::InvalidArgumentError(StrCat(where, ": duplicate id"));
    }
    if (p.role() == v1::ROLE_UNSPECIFIED || !v1::Role_IsValid(p.role())) {
      return absl::InvalidArgumentError(StrCat(where, ".role: not set"));
    }
    if (p.role() == v1::ROLE_STUDIO && p.studio_id().empty()) {
      return absl::InvalidArgumentError(
          StrCat(where, ".studio_id: required for ROLE_STUDIO"));
    }
    for (const auto& hash : p.token_sha256()) {
      if (!crypto::IsSha256Hex(hash)) {
        return absl::InvalidArgumentError(StrCat(
            where, ".token_sha256: must be 64 lower-case hex characters"));
      }
      if (!policy->by_token_hash_
               .emplace(hash, Principal{p.id(), p.role(), p.studio_id()})
               .second) {
        return absl::InvalidArgumentError(
            StrCat(where, ".token_sha256: token used twice"));
      }
    }
    for (const auto& name : p.client_certificate_names()) {
      if (name.empty() ||
          !policy->by_certificate_name_
               .emplace(name, Principal{p.id(), p.role(), p.studio_id()})
               .second) {
        return absl::InvalidArgumentError(
            StrCat(where, ".client_certificate_names: \"", name,
                   "\" is empty or names another principal too"));
      }
    }
    if (p.role() == v1::ROLE_STUDIO) {
      auto& readers = policy->studio_readers_[p.studio_id()];
      readers.insert(readers.end(), p.asset_readers().begin(),
                     p.asset_readers().end());
      auto& insurers = policy->studio_insurers_[p.studio_id()];
      insurers.insert(insurers.end(), p.insurers().begin(), p.insurers().end());
    } else if (p.insurers_size() > 0) {
      return absl::InvalidArgumentError(StrCat(
          where, ".insurers: only a ROLE_STUDIO principal names insurers"));
    }
    if (p.role() == v1::ROLE_INSURER) policy->insurer_ids_.insert(p.id());
  }
  // A studio naming anything but an insurer principal is a typo that would
  // quietly give no one (or the wrong principal) authority.
  for (const auto& p : config.principals()) {
    for (const auto& name : p.insurers()) {
      if (!policy->insurer_ids_.contains(name)) {
        return absl::InvalidArgumentError(
            StrCat("principals[", p.id(), "].insurers: \"", name,
                   "\" is not a ROLE_INSURER principal"));
      }
    }
  }
  // Zero (a config that did not pass FinishConfig, e.g. in unit tests):
  // no limit.
  if (config.limits().requests_per_second() > 0) {
    policy->principal_rate_ =
        std::make_unique<RateLimiter>(config.limits().requests_per_second());
  }
  if (config.limits().anonymous_requests_per_second() > 0) {
    policy->anonymous_rate_ = std::make_unique<RateLimiter>(
        config.limits().anonymous_requests_per_second());
  }
  return policy;
}

absl::StatusOr<Principal> AccessPolicy::Authenticate(
    std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    return absl::UnauthenticatedError(
        "authorization: missing; send \"authorization: Bearer <token>\"");
  }
  if (authorization.size() < kBearer.size() ||
      !absl::EqualsIgnoreCase(
          absl::string_view(authorization.data(), kBearer.size()), "Bearer ")) {
    return absl::UnauthenticatedError(
        "authorization: expected \"Bearer <token>\"");
  }
  const std::string_view token = authorization.substr(kBearer.size());
  // Tokens carry 256 random bits, so a plain hash lookup leaks nothing
  // useful through timing: the attacker cannot choose hash prefixes.
  auto it = by_token_hash_.find(crypto::Sha256::HexOf(token));
  if (it == by_token_hash_.end()) {
    return absl::UnauthenticatedError("authorization: unknown token");
  }
  return it->second;
}

absl::Status AccessPolicy::Admit(const Principal& who,
                                 std::string_view peer) const {
  if (!who.id.empty()) {
    if (principal_rate_ == nullptr) return absl::OkStatus();
    return principal_rate_->Admit(who.id, StrCat("principal ", who.id));
  }
  if (anonymous_rate_ == nullptr) return absl::OkStatus();
  // "ipv4:127.0.0.1:5000" or "ipv6:[::1]:5000": the address, not the port.
  std::string address(peer.substr(0, peer.rfind(':')));
  return anonymous_rate_->Admit(address, StrCat("anonymous caller ", address));
}

absl::StatusOr<Principal> AccessPolicy::AuthenticateCertificate(
    std::string_view common_name) const {
  auto it = by_certificate_name_.find(std::string(common_name));
  if (it == by_certificate_name_.end()) {
    return absl::UnauthenticatedError(
        StrCat("client certificate: \"", common_name,
               "\" names no principal (principals.client_certificate_names)"));
  }
  return it->second;
}

absl::Status AccessPolicy::CheckCreatePiece(const Principal& who,
                                            std::string_view studio_id) const {
  if (who.role != v1::ROLE_STUDIO) {
    return absl::PermissionDeniedError(
        StrCat("principal ", who.id, " is not a studio"));
  }
  if (who.studio_id != studio_id) {
    return absl::PermissionDeniedError(
        StrCat("studio_id: principal ", who.id, " acts for studio ",
               who.studio_id, ", not ", studio_id));
  }
  return absl::OkStatus();
}

absl::Status AccessPolicy::CheckWritePiece(const Principal& who,
                                           const v1::Piece& piece) const {
  if (who.role != v1::ROLE_STUDIO || who.studio_id != piece.studio_id()) {
    return absl::PermissionDeniedError(StrCat(
        "piece_id: piece ", piece.id(), " belongs to studio ",
        piece.studio_id(), "; principal ", who.id, " may not change it"));
  }
  return absl::OkStatus();
}

absl::Status AccessPolicy::CheckUpload(const Principal& who) const {
  if (who.role != v1::ROLE_STUDIO) {
    return absl::PermissionDeniedError(
        StrCat("principal ", who.id, " is not a studio"));
  }
  return absl::OkStatus();
}

absl::Status AccessPolicy::CheckReadAssets(const Principal& who,
                                           const v1::Piece& piece) const {
  if (who.role == v1::ROLE_ADMIN) return absl::OkStatus();
  if (who.role == v1::ROLE_STUDIO && who.studio_id == piece.studio_id()) {
    return absl::OkStatus();
  }
  if (Contains(piece.asset_readers(), who.id)) return absl::OkStatus();
  auto it = studio_readers_.find(piece.studio_id());
  if (it != studio_readers_.end() && Contains(it->second, who.id)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      StrCat("principal ", who.id, " may not read the files of piece ",
             piece.id(), "; studio ", piece.studio_id(), " must grant it"));
}

bool AccessPolicy::NamesInsurer(const Principal& who,
                                const v1::Piece& piece) const {
  if (who.role != v1::ROLE_INSURER) return false;
  if (Contains(piece.insurers(), who.id)) return true;
  auto it = studio_insurers_.find(piece.studio_id());
  return it != studio_insurers_.end() && Contains(it->second, who.id);
}

absl::StatusOr<std::string> AccessPolicy::AuthorizeStatusChange(
    const Principal& who, bool owner_report, std::string_view action,
    bool by_studio, const v1::Piece& piece) const {
  std::string by;
  if (owner_report && !by_studio) {
    by = "owner";
  } else if (who.id.empty()) {
    return absl::UnauthenticatedError(
        "authorization: a token, or the owner's signed report "
        "(owner_report_json), is needed");
  } else if (who.role == v1::ROLE_ADMIN) {
    by = StrCat("admin:", who.id);
  } else if (by_studio) {
    if (who.role != v1::ROLE_STUDIO || who.studio_id != piece.studio_id()) {
      return absl::PermissionDeniedError(StrCat(
          "action: ", action, " is for the piece's studio (", piece.studio_id(),
          ") or an admin; principal ", who.id, " may not"));
    }
    by = StrCat("studio:", who.studio_id);
  } else if (who.role != v1::ROLE_INSURER) {
    return absl::PermissionDeniedError(
        StrCat("action: ", action,
               " is for the owner (a signed report, owner_report_json), an "
               "insurer the piece or its studio names, or an admin; "
               "principal ",
               who.id, " may not"));
  } else if (!NamesInsurer(who, piece)) {
    return absl::PermissionDeniedError(StrCat(
        "action: ", action, ": insurer ", who.id, " is not named by piece ",
        piece.id(), " or its studio ", piece.studio_id(),
        " (the piece's insurers, the studio's configured insurers)"));
  } else {
    by = StrCat("insurer:", who.id);
  }
  // An open report is its reporter's, the owner's and the admins' to
  // change or clear: not another insurer's.
  const bool open = piece.status() == v1::PIECE_STATUS_LOST ||
                    piece.status() == v1::PIECE_STATUS_STOLEN;
  if (open && !by_studio && by.starts_with("insurer:") &&
      piece.status_changed_by() != by) {
    return absl::PermissionDeniedError(StrCat(
        "action: ", action, ": the piece was reported ",
        piece.status() == v1::PIECE_STATUS_LOST ? "lost" : "stolen", " by ",
        piece.status_changed_by().empty() ? "(unknown)"
                                          : piece.status_changed_by(),
        "; only that reporter, the owner or an admin may change or clear "
        "the report"));
  }
  return by;
}

absl::Status AccessPolicy::CheckInsurerNames(
    std::string_view field,
    const google::protobuf::RepeatedPtrField<std::string>& names) const {
  constexpr int kMaxInsurers = 16;
  if (names.size() > kMaxInsurers) {
    return absl::InvalidArgumentError(
        StrCat(field, ": at most ", kMaxInsurers));
  }
  for (int i = 0; i < names.size(); ++i) {
    const std::string at = StrCat(field, "[", i, "]");
    if (!insurer_ids_.contains(names[i])) {
      return absl::InvalidArgumentError(StrCat(
          at, ": no ROLE_INSURER principal is called \"", names[i], "\""));
    }
    if (std::find(names.begin(), names.begin() + i, names[i]) !=
        names.begin() + i) {
      return absl::InvalidArgumentError(StrCat(at, ": named twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace loupe::server
