#pragma once

// DSSE v1 (Dead Simple Signing Envelope): what is signed is
// PAE(payloadType, payload), never the envelope's JSON. Verify first, then
// use only the payload VerifyEnvelope returns.

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/ed25519.h"

namespace loupe::crypto {

struct DsseSignature {
  std::string keyid;
  std::string sig;  // Raw signature bytes.
};

struct DsseEnvelope {
  std::string payload_type;
  std::string payload;  // Raw payload bytes.
  std::vector<DsseSignature> signatures;
};

struct VerifiedPayload {
  std::string payload_type;
  std::string payload;
  std::string keyid;  // The key whose signature verified.
};

// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in ASCII
// decimal without leading zeros.
[[nodiscard]] std::string PreAuthEncoding(std::string_view payload_type,
                                          std::string_view payload);

// An envelope with one signature by `key`, whose keyid is KeyId(public key).
[[nodiscard]] DsseEnvelope SignEnvelope(std::string_view payload_type,
                                        std::string_view payload,
                                        const SigningKey& key);

// The standard JSON form: {"payload": base64, "payloadType": ...,
// "signatures": [{"keyid": ..., "sig": base64}]}, keys sorted, no spaces,
// standard base64 with padding.
[[nodiscard]] std::string EnvelopeToJson(const DsseEnvelope& envelope);

// The same as a JSON value, for embedding in other documents.
[[nodiscard]] nlohmann::json EnvelopeToJsonValue(const DsseEnvelope& envelope);
[[nodiscard]] absl::StatusOr<DsseEnvelope> EnvelopeFromJsonValue(
    const nlohmann::json& json, std::string_view path = "envelope");

// Parses the JSON form (standard or URL-safe base64, padded or not).
// INVALID_ARGUMENT naming the field if anything is missing or malformed.
[[nodiscard]] absl::StatusOr<DsseEnvelope> EnvelopeFromJson(
    std::string_view json);

// Finds the key for a keyid, or nullopt if it is not trusted.
using KeyLookup =
    std::function<std::optional<PublicKey>(std::string_view keyid)>;

// Returns the payload if at least one signature verifies with the trusted
// key its keyid names. UNAUTHENTICATED otherwise, saying why (no
// signature, unknown key id, signature does not verify).
[[nodiscard]] absl::StatusOr<VerifiedPayload> VerifyEnvelope(
    const DsseEnvelope& envelope, const KeyLookup& lookup);

// The distinct key ids whose signatures verify with the key `lookup` gives
// for them (for thresholds: one key counts once however often it signed).
[[nodiscard]] std::vector<std::string> VerifiedKeyIds(
    const DsseEnvelope& envelope, const KeyLookup& lookup);

// Standard base64 with padding, and its decoder that also accepts the
// URL-safe alphabet and missing padding. INVALID_ARGUMENT on bad input.
[[nodiscard]] std::string Base64Encode(std::string_view bytes);
[[nodiscard]] absl::StatusOr<std::string> Base64Decode(std::string_view text);

}  // namespace loupe::crypto
