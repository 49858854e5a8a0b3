#include "crypto/piece_status.h"

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "crypto/canonical_json.h"
#include "crypto/json_limits.h"
#include "crypto/sha256.h"

namespace loupe::crypto {
namespace {

using Json = nlohmann::json;
constexpr char kTimeFormat[] = "%Y-%m-%dT%H:%M:%SZ";

// Every payload here is written canonically (CanonicalJson); one that is
// not (duplicate keys, reordered keys, whitespace) could be read two ways,
// so it is refused (json_limits.h).
absl::StatusOr<Json> ParsePayload(std::string_view payload,
                                  std::string_view what) {
  auto json = ParseCanonicalJson(payload, what);
  if (!json.ok()) return json.status();
  if (!json->is_object()) {
    return absl::InvalidArgumentError(
        StrCat(what, ": payload is not a JSON object"));
  }
  return json;
}

absl::Status Field(const Json& json, std::string_view what, const char* name,
                   std::string* out) {
  if (!json.contains(name) || !json[name].is_string()) {
    return absl::InvalidArgumentError(
        StrCat(what, ".", name, ": missing or not a string"));
  }
  *out = json[name].get<std::string>();
  return absl::OkStatus();
}

absl::Status Field(const Json& json, std::string_view what, const char* name,
                   uint32_t* out) {
  if (!json.contains(name) || !json[name].is_number_unsigned() ||
      json[name].get<uint64_t>() > UINT32_MAX) {
    return absl::InvalidArgumentError(
        StrCat(what, ".", name, ": missing or not a sequence number"));
  }
  *out = json[name].get<uint32_t>();
  return absl::OkStatus();
}

absl::StatusOr<VerifiedPayload> VerifyByOwner(const DsseEnvelope& envelope,
                                              const PublicKey& owner,
                                              std::string_view type) {
  if (envelope.payload_type != type) {
    return absl::InvalidArgumentError(StrCat("payloadType: expected ", type));
  }
  const std::string owner_id = KeyId(owner);
  return VerifyEnvelope(
      envelope, [&](std::string_view keyid) -> std::optional<PublicKey> {
        if (keyid != owner_id) return std::nullopt;
        return owner;
      });
}

}  // namespace

absl::StatusOr<DsseEnvelope> SignPieceStatus(const PieceStatusFacts& facts,
                                             const SigningKey& key) {
  const Json payload = {{"piece_id", facts.piece_id},
                        {"status", facts.status},
                        {"status_sequence", facts.status_sequence},
                        {"reason", facts.reason},
                        {"changed_by", facts.changed_by},
                        {"owner", facts.owner},
                        {"owner_sequence", facts.owner_sequence},
                        {"as_of", absl::FormatTime(kTimeFormat, facts.as_of,
                                                   absl::UTCTimeZone())},
                        {"keyid", KeyId(key.public_key())}};
  auto canonical = CanonicalJson(payload);
  if (!canonical.ok()) return canonical.status();
  return SignEnvelope(kPieceStatusPayloadType, *canonical, key);
}

absl::StatusOr<PieceStatusFacts> VerifyPieceStatus(const DsseEnvelope& envelope,
                                                   const TrustRoot& root) {
  if (envelope.payload_type != kPieceStatusPayloadType) {
    return absl::InvalidArgumentError(
        StrCat("status.payloadType: expected ", kPieceStatusPayloadType));
  }
  auto verified =
      VerifyEnvelope(envelope, KeysWithRole(root, kRoleCertificate));
  if (!verified.ok()) {
    return absl::UnauthenticatedError(
        StrCat("status: ", verified.status().message()));
  }
  auto json = ParsePayload(verified->payload, "status");
  if (!json.ok()) return json.status();
  PieceStatusFacts facts;
  std::string as_of;
  for (auto s :
       {Field(*json, "status", "piece_id", &facts.piece_id),
        Field(*json, "status", "status", &facts.status),
        Field(*json, "status", "status_sequence", &facts.status_sequence),
        Field(*json, "status", "reason", &facts.reason),
        Field(*json, "status", "changed_by", &facts.changed_by),
        Field(*json, "status", "owner", &facts.owner),
        Field(*json, "status", "owner_sequence", &facts.owner_sequence),
        Field(*json, "status", "as_of", &as_of),
        Field(*json, "status", "keyid", &facts.keyid)}) {
    if (!s.ok()) return s;
  }
  std::string error;
  if (!absl::ParseTime(kTimeFormat, as_of, absl::UTCTimeZone(), &facts.as_of,
                       &error)) {
    return absl::InvalidArgumentError("status.as_of: not a UTC time");
  }
  if (facts.keyid != verified->keyid) {
    return absl::InvalidArgumentError(
        "status.keyid: does not name the key that signed");
  }
  if (auto key = root.KeyValidAt(facts.keyid, kRoleCertificate, facts.as_of);
      !key.ok()) {
    return absl::UnauthenticatedError(
        StrCat("status: ", key.status().message()));
  }
  return facts;
}

DsseEnvelope SignOwnerTransfer(const OwnerTransfer& transfer,
                               const SigningKey& owner) {
  const Json payload = {{"piece_id", transfer.piece_id},
                        {"new_owner", ToHex(transfer.new_owner.data(),
                                            transfer.new_owner.size())},
                        {"sequence", transfer.sequence}};
  return SignEnvelope(kOwnerTransferPayloadType, *CanonicalJson(payload),
                      owner);
}

absl::StatusOr<OwnerTransfer> ParseOwnerTransfer(const DsseEnvelope& envelope) {
  if (envelope.payload_type != kOwnerTransferPayloadType) {
    return absl::InvalidArgumentError(
        StrCat("transfer.payloadType: expected ", kOwnerTransferPayloadType));
  }
  auto json = ParsePayload(envelope.payload, "transfer");
  if (!json.ok()) return json.status();
  OwnerTransfer transfer;
  std::string new_owner;
  for (auto s : {Field(*json, "transfer", "piece_id", &transfer.piece_id),
                 Field(*json, "transfer", "new_owner", &new_owner),
                 Field(*json, "transfer", "sequence", &transfer.sequence)}) {
    if (!s.ok()) return s;
  }
  auto key = ParsePublicKeyHex(new_owner);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        StrCat("transfer.new_owner: ", key.status().message()));
  }
  transfer.new_owner = *key;
  return transfer;
}

absl::StatusOr<OwnerTransfer> VerifyOwnerTransfer(const DsseEnvelope& envelope,
                                                  const PublicKey& owner) {
  auto verified = VerifyByOwner(envelope, owner, kOwnerTransferPayloadType);
  if (!verified.ok()) {
    return absl::UnauthenticatedError(
        StrCat("transfer_json: not signed by the current owner's key (",
               verified.status().message(), ")"));
  }
  return ParseOwnerTransfer(envelope);
}

DsseEnvelope SignStatusReport(const OwnerStatusReport& report,
                              const SigningKey& owner) {
  const Json payload = {{"piece_id", report.piece_id},
                        {"action", report.action},
                        {"reason", report.reason},
                        {"sequence", report.sequence}};
  auto canonical = CanonicalJson(payload);
  // A reason that is not valid UTF-8 has no canonical form; sign the dump
  // anyway so that the server names the problem.
  return SignEnvelope(kStatusReportPayloadType,
                      canonical.ok() ? *canonical : payload.dump(), owner);
}

absl::StatusOr<OwnerStatusReport> VerifyStatusReport(
    const DsseEnvelope& envelope, const PublicKey& owner) {
  auto verified = VerifyByOwner(envelope, owner, kStatusReportPayloadType);
  if (!verified.ok()) {
    return absl::UnauthenticatedError(
        StrCat("owner_report_json: not signed by the current owner's key (",
               verified.status().message(), ")"));
  }
  auto json = ParsePayload(verified->payload, "owner_report");
  if (!json.ok()) return json.status();
  OwnerStatusReport report;
  for (auto s : {Field(*json, "owner_report", "piece_id", &report.piece_id),
                 Field(*json, "owner_report", "action", &report.action),
                 Field(*json, "owner_report", "reason", &report.reason),
                 Field(*json, "owner_report", "sequence", &report.sequence)}) {
    if (!s.ok()) return s;
  }
  return report;
}

}  // namespace loupe::crypto
