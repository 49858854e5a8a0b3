#include "crypto/check_statement.h"

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "crypto/canonical_json.h"
#include "crypto/json_limits.h"
#include "crypto/log_entry.h"
#include "crypto/sha256.h"

namespace loupe::crypto {
namespace {

using Json = nlohmann::json;
constexpr char kTimeFormat[] = "%Y-%m-%dT%H:%M:%SZ";

absl::Status Bad(std::string_view name, std::string_view why) {
  return absl::InvalidArgumentError(StrCat("check.", name, ": ", why));
}

absl::Status Read(const Json& j, const char* name, std::string* out) {
  if (!j.contains(name) || !j[name].is_string()) {
    return Bad(name, "missing or not a string");
  }
  *out = j[name].get<std::string>();
  return absl::OkStatus();
}

absl::Status Read(const Json& j, const char* name, uint32_t* out) {
  if (!j.contains(name) || !j[name].is_number_unsigned() ||
      j[name].get<uint64_t>() > UINT32_MAX) {
    return Bad(name, "missing or not an unsigned 32-bit integer");
  }
  *out = j[name].get<uint32_t>();
  return absl::OkStatus();
}

absl::Status Read(const Json& j, const char* name, bool* out) {
  if (!j.contains(name) || !j[name].is_boolean()) {
    return Bad(name, "missing or not true/false");
  }
  *out = j[name].get<bool>();
  return absl::OkStatus();
}

}  // namespace

Json CheckPayloadJson(const CheckFacts& f) {
  return {{"piece_id", f.piece_id},
          {"version", f.version},
          {"file_sha256", f.file_sha256},
          {"twin_asset_sha256", f.twin_asset_sha256},
          {"purpose", f.purpose},
          {"tolerance_um", f.tolerance_um},
          {"pass", f.pass},
          {"reasons", f.reasons},
          {"max_abs_nm", f.max_abs_nm},
          {"p95_abs_nm", f.p95_abs_nm},
          {"rms_nm", f.rms_nm},
          {"coverage_ppm", f.coverage_ppm},
          {"inner_diameter_nm", f.inner_diameter_nm},
          {"checked_by", f.checked_by},
          {"at", absl::FormatTime(kTimeFormat, f.at, absl::UTCTimeZone())}};
}

std::string CheckId(std::string_view payload) {
  return StrCat("ck_", Sha256::HexOf(payload).substr(0, 32));
}

absl::StatusOr<CheckFacts> ParseCheckPayload(std::string_view payload) {
  auto parsed = ParseCanonicalJson(payload, "check");
  if (!parsed.ok()) return parsed.status();
  const Json& j = *parsed;
  if (!j.is_object()) return Bad("payload", "not a JSON object");
  CheckFacts f;
  std::string at;
  for (auto s :
       {Read(j, "piece_id", &f.piece_id), Read(j, "version", &f.version),
        Read(j, "file_sha256", &f.file_sha256),
        Read(j, "twin_asset_sha256", &f.twin_asset_sha256),
        Read(j, "purpose", &f.purpose),
        Read(j, "tolerance_um", &f.tolerance_um), Read(j, "pass", &f.pass),
        Read(j, "max_abs_nm", &f.max_abs_nm),
        Read(j, "p95_abs_nm", &f.p95_abs_nm), Read(j, "rms_nm", &f.rms_nm),
        Read(j, "coverage_ppm", &f.coverage_ppm),
        Read(j, "inner_diameter_nm", &f.inner_diameter_nm),
        Read(j, "checked_by", &f.checked_by), Read(j, "at", &at),
        Read(j, "keyid", &f.keyid)}) {
    if (!s.ok()) return s;
  }
  if (!j.contains("reasons") || !j["reasons"].is_array()) {
    return Bad("reasons", "missing or not an array");
  }
  for (const auto& r : j["reasons"]) {
    if (!r.is_string()) return Bad("reasons", "not an array of strings");
    f.reasons.push_back(r.get<std::string>());
  }
  std::string error;
  if (!absl::ParseTime(kTimeFormat, at, absl::UTCTimeZone(), &f.at, &error)) {
    return Bad("at", "not a UTC time");
  }
  return f;
}

absl::StatusOr<std::string> CheckLogEntry(std::string_view payload) {
  auto f = ParseCheckPayload(payload);
  if (!f.ok()) return f.status();
  Json fields = {{"check_id", CheckId(payload)},
                 {"piece_id", f->piece_id},
                 {"version", f->version},
                 {"purpose", f->purpose},
                 {"pass", f->pass},
                 {"statement_sha256", Sha256::HexOf(payload)}};
  return EncodeLogEntry("check", std::move(fields));
}

absl::StatusOr<CheckFacts> VerifyCheckStatement(const DsseEnvelope& envelope,
                                                const TrustRoot& root) {
  if (envelope.payload_type != kCheckPayloadType) {
    return Bad("payloadType", StrCat("expected ", kCheckPayloadType));
  }
  auto verified =
      VerifyEnvelope(envelope, KeysWithRole(root, kRoleCertificate));
  if (!verified.ok()) {
    return absl::UnauthenticatedError(
        StrCat("check: ", verified.status().message()));
  }
  auto facts = ParseCheckPayload(verified->payload);
  if (!facts.ok()) return facts.status();
  if (facts->keyid != verified->keyid) {
    return Bad("keyid", "does not name the key that signed");
  }
  if (auto key = root.KeyValidAt(facts->keyid, kRoleCertificate, facts->at);
      !key.ok()) {
    return absl::UnauthenticatedError(
        StrCat("check: ", key.status().message()));
  }
  return facts;
}

}  // namespace loupe::crypto
