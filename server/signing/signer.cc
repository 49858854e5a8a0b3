#include "server/signing/signer.h"

#include <google/protobuf/util/time_util.h>

#include "absl/time/clock.h"
#include "base/file.h"
#include "base/str_cat.h"
#include "crypto/bundle.h"
#include "crypto/canonical_json.h"
#include "crypto/certificate.h"
#include "crypto/checkpoint.h"
#include "crypto/key_file.h"
#include "crypto/log_entry.h"
#include "crypto/piece_status.h"
#include "crypto/sha256.h"
#include "crypto/trust_root.h"
#include "server/signing/certificate_statement.h"

namespace loupe::server {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     std::string_view option) {
  auto text = ReadFileToString(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        StrCat(option, ": ", text.status().message()));
  }
  return text;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CertificateSigner>> CertificateSigner::Load(
    const v1::SigningConfig& config) {
  auto key_text = ReadFile(config.key_file(), "signing.key_file");
  if (!key_text.ok()) return key_text.status();
  crypto::PassphraseSource source;
  source.file = config.passphrase_file();
  source.allow_prompt = false;
  auto passphrase = crypto::ReadPassphrase(source);
  if (!passphrase.ok()) {
    return absl::InvalidArgumentError(
        StrCat("signing.passphrase_file: ", passphrase.status().message()));
  }
  auto key = crypto::OpenSigningKey(*key_text, passphrase->view());
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        StrCat("signing.key_file: ", key.status().message()));
  }
  if (config.root_files().empty()) {
    return absl::InvalidArgumentError("signing.root_files: at least root v1");
  }
  std::vector<crypto::DsseEnvelope> roots;
  for (const auto& path : config.root_files()) {
    auto text = ReadFile(path, "signing.root_files");
    if (!text.ok()) return text.status();
    auto envelope = crypto::EnvelopeFromJson(*text);
    if (!envelope.ok()) {
      return absl::InvalidArgumentError(StrCat(
          "signing.root_files: ", path, ": ", envelope.status().message()));
    }
    roots.push_back(*std::move(envelope));
  }
  auto root = crypto::VerifyInitialRoot(roots.front());
  if (root.ok()) root = crypto::FollowRoots(*root, roots);
  if (!root.ok()) {
    return absl::InvalidArgumentError(
        StrCat("signing.root_files: ", root.status().message()));
  }
  const std::string keyid = crypto::KeyId(key->public_key());
  for (const char* role : {crypto::kRoleCertificate, crypto::kRoleCheckpoint}) {
    if (auto valid = root->KeyValidAt(keyid, role, absl::Now()); !valid.ok()) {
      return absl::InvalidArgumentError(
          StrCat("signing.key_file: ", valid.status().message()));
    }
  }
  return std::unique_ptr<CertificateSigner>(
      new CertificateSigner(*std::move(key), std::move(roots), root->origin));
}

absl::StatusOr<CertificateSigner::Issued> CertificateSigner::Issue(
    const v1::Piece& piece, const v1::TwinVersion& version,
    std::string_view parent_certificate_id, absl::Time now) const {
  auto statement = CertificateStatement(piece, version, parent_certificate_id);
  if (!statement.ok()) return statement.status();
  // Whole seconds: the certificate states its issue time to the second.
  now = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  auto envelope = crypto::SignCertificate(*std::move(statement), now, key_);
  if (!envelope.ok()) return envelope.status();
  Issued issued;
  issued.log_entry = crypto::CertificateLogEntry(envelope->payload, piece.id(),
                                                 version.number());
  v1::Certificate& certificate = issued.certificate;
  certificate.set_id(crypto::CertificateId(envelope->payload));
  certificate.set_piece_id(piece.id());
  certificate.set_version(version.number());
  *certificate.mutable_issued_at() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(
          absl::ToUnixSeconds(now));
  certificate.set_keyid(crypto::KeyId(key_.public_key()));
  certificate.set_bundle_json(crypto::EncodeBundle(
      {*std::move(envelope), Rotations(), std::nullopt, std::nullopt, {}}));
  return issued;
}

absl::StatusOr<crypto::DsseEnvelope> CertificateSigner::SignJson(
    std::string_view payload_type, nlohmann::json payload) const {
  payload["keyid"] = crypto::KeyId(key_.public_key());
  auto canonical = crypto::CanonicalJson(payload);
  if (!canonical.ok()) return canonical.status();
  return crypto::SignEnvelope(payload_type, *canonical, key_);
}

std::string CertificateSigner::SignCheckpoint(uint64_t size,
                                              const crypto::Hash& root) const {
  return crypto::SignCheckpoint({origin_, size, root}, origin_, key_);
}

bool CertificateSigner::SignedCheckpoint(std::string_view note) const {
  return crypto::VerifyCheckpoint(note, origin_, key_.public_key()).ok();
}

absl::StatusOr<crypto::DsseEnvelope> CertificateSigner::SignStatus(
    const v1::Piece& piece, absl::Time now) const {
  crypto::PieceStatusFacts facts;
  facts.piece_id = piece.id();
  facts.status = PieceStatusWord(piece.status());
  facts.status_sequence = piece.status_sequence();
  facts.reason = piece.status_reason();
  facts.changed_by = piece.status_changed_by();
  if (!piece.owner_public_key().empty()) {
    facts.owner = crypto::ToHex(piece.owner_public_key());
  }
  facts.owner_sequence = piece.owner_sequence();
  facts.as_of = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  return crypto::SignPieceStatus(facts, key_);
}

std::string PieceStatusWord(v1::PieceStatus status) {
  switch (status) {
    case v1::PIECE_STATUS_SUSPENDED:
      return "suspended";
    case v1::PIECE_STATUS_REVOKED:
      return "revoked";
    case v1::PIECE_STATUS_LOST:
      return "lost";
    case v1::PIECE_STATUS_STOLEN:
      return "stolen";
    default:
      return "active";
  }
}

}  // namespace loupe::server
