#include "crypto/certificate.h"

#include <map>
#include <set>

#include "absl/status/status.h"
#include "base/str_cat.h"

namespace loupe::crypto {
namespace {

constexpr char kTimeFormat[] = "%Y-%m-%dT%H:%M:%SZ";

}  // namespace

absl::StatusOr<DsseEnvelope> SignCertificate(Statement statement,
                                             absl::Time issued_at,
                                             const SigningKey& key) {
  if (statement.predicate_type != kCertificatePredicateType ||
      !statement.predicate.is_object()) {
    return absl::InvalidArgumentError(
        StrCat("predicateType: must be ", kCertificatePredicateType));
  }
  statement.predicate["issued_at"] =
      absl::FormatTime(kTimeFormat, issued_at, absl::UTCTimeZone());
  statement.predicate["keyid"] = KeyId(key.public_key());
  auto payload = EncodeStatement(statement);
  if (!payload.ok()) return payload.status();
  return SignEnvelope(kStatementPayloadType, *payload, key);
}

absl::StatusOr<VerifiedCertificate> VerifyCertificate(
    const DsseEnvelope& envelope, const TrustRoot& root) {
  if (envelope.payload_type != kStatementPayloadType) {
    return absl::InvalidArgumentError(
        StrCat("envelope.payloadType: must be ", kStatementPayloadType));
  }
  // 1. The signature, by any certificate key of the root.
  auto verified =
      VerifyEnvelope(envelope, KeysWithRole(root, kRoleCertificate));
  if (!verified.ok()) return verified.status();
  // 2. The verified payload only.
  auto statement = ParseStatement(verified->payload);
  if (!statement.ok()) return statement.status();
  if (statement->predicate_type != kCertificatePredicateType) {
    return absl::InvalidArgumentError(
        StrCat("statement.predicateType: must be ", kCertificatePredicateType));
  }
  const auto& predicate = statement->predicate;
  absl::Time issued_at;
  std::string error;
  if (!predicate.contains("issued_at") || !predicate["issued_at"].is_string() ||
      !absl::ParseTime(kTimeFormat, predicate["issued_at"].get<std::string>(),
                       absl::UTCTimeZone(), &issued_at, &error)) {
    return absl::InvalidArgumentError(
        "predicate.issued_at: missing or not a UTC time");
  }
  if (predicate.value("keyid", "") != verified->keyid) {
    return absl::InvalidArgumentError(
        "predicate.keyid: does not name the key that signed");
  }
  // 3. The key was valid when the certificate says it was issued.
  if (auto key = root.KeyValidAt(verified->keyid, kRoleCertificate, issued_at);
      !key.ok()) {
    return key.status();
  }
  return VerifiedCertificate{*std::move(statement), verified->keyid, issued_at};
}

FileReport MatchFiles(const Statement& statement,
                      const std::vector<HeldFile>& files) {
  FileReport report;
  std::multimap<std::string, const Subject*> by_digest;
  for (const auto& s : statement.subjects) by_digest.emplace(s.sha256, &s);
  for (const auto& file : files) {
    auto it = by_digest.find(file.sha256);
    if (it == by_digest.end()) {
      report.files.emplace_back(file, std::nullopt);
    } else {
      report.files.emplace_back(file, it->second->name);
    }
  }
  std::set<std::string> held;
  for (const auto& file : files) held.insert(file.sha256);
  for (const auto& s : statement.subjects) {
    if (!held.contains(s.sha256)) report.missing.push_back(s);
  }
  // ParseStatement already checked the set digest against the subjects, so
  // holding every subject means holding the whole committed set.
  report.complete = report.missing.empty();
  return report;
}

}  // namespace loupe::crypto
