#pragma once

// The registry's signed statement of a geometry check (CheckGeometry):
// a DSSE envelope, payload type kCheckPayloadType, signed with a trust-root
// key of role "certificate", over canonical JSON (format in
// docs/certificate-format.md, "Check statements"). A recorded check is
// also a transparency-log entry (CheckLogEntry), derived from the signed
// payload alone so that an offline verifier rebuilds it, and a version
// that cites it as evidence carries its digest (CheckEvidence).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/dsse.h"
#include "crypto/trust_root.h"

namespace loupe::crypto {

inline constexpr char kCheckPayloadType[] =
    "application/vnd.loupe.geometry-check+json";

// What a check statement says. Lengths in integers: nm, µm, ppm.
struct CheckFacts {
  std::string piece_id;
  uint32_t version = 0;  // The twin version checked against.
  std::string file_sha256, twin_asset_sha256;
  std::string purpose;  // repair, reorder, resize, matching-band
  uint32_t tolerance_um = 0;
  bool pass = false;
  std::vector<std::string> reasons;
  uint32_t max_abs_nm = 0, p95_abs_nm = 0, rms_nm = 0;
  uint32_t coverage_ppm = 0, inner_diameter_nm = 0;
  std::string checked_by;
  absl::Time at;      // Whole seconds.
  std::string keyid;  // Of the signing key (set by the signer).
};

// The payload's JSON without "keyid" (the signer adds it).
[[nodiscard]] nlohmann::json CheckPayloadJson(const CheckFacts& facts);

// "ck_" and 32 hex characters of SHA-256(payload).
[[nodiscard]] std::string CheckId(std::string_view payload);

// The log entry of a recorded check whose signed payload is `payload`:
// {check_id, pass, piece_id, purpose, statement_sha256, type:"check",
// version}. INVALID_ARGUMENT if the payload is not a check statement.
[[nodiscard]] absl::StatusOr<std::string> CheckLogEntry(
    std::string_view payload);

// Reads a payload without checking any signature (the registry reading
// its own statement). INVALID_ARGUMENT naming the field.
[[nodiscard]] absl::StatusOr<CheckFacts> ParseCheckPayload(
    std::string_view payload);

// UNAUTHENTICATED unless signed by a certificate key of `root` that was
// valid at the statement's "at" (a retired key's later signature fails);
// INVALID_ARGUMENT naming the field for a malformed statement.
[[nodiscard]] absl::StatusOr<CheckFacts> VerifyCheckStatement(
    const DsseEnvelope& envelope, const TrustRoot& root);

}  // namespace loupe::crypto
