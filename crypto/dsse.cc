#include "crypto/dsse.h"

#include <sodium.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "crypto/json_limits.h"
#include "crypto/sodium_init.h"

namespace loupe::crypto {
namespace {

using Json = nlohmann::json;

absl::StatusOr<std::string> StringField(const Json& object,
                                        const std::string& name,
                                        std::string_view where) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return absl::InvalidArgumentError(
        StrCat(where, name, ": missing or not a string"));
  }
  return it->get<std::string>();
}

absl::StatusOr<std::string> Base64Field(const Json& object,
                                        const std::string& name,
                                        std::string_view where) {
  auto text = StringField(object, name, where);
  if (!text.ok()) return text.status();
  auto bytes = Base64Decode(*text);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(StrCat(where, name, ": not base64"));
  }
  return bytes;
}

void StrAppendReason(std::string* reasons, const std::string& reason) {
  if (!reasons->empty()) reasons->append("; ");
  reasons->append(reason);
}

}  // namespace

std::string PreAuthEncoding(std::string_view payload_type,
                            std::string_view payload) {
  return StrCat("DSSEv1 ", payload_type.size(), " ", payload_type, " ",
                payload.size(), " ", payload);
}

DsseEnvelope SignEnvelope(std::string_view payload_type,
                          std::string_view payload, const SigningKey& key) {
  const Signature sig = key.Sign(PreAuthEncoding(payload_type, payload));
  return DsseEnvelope{
      std::string(payload_type),
      std::string(payload),
      {{KeyId(key.public_key()),
        std::string(reinterpret_cast<const char*>(sig.data()), sig.size())}}};
}

Json EnvelopeToJsonValue(const DsseEnvelope& envelope) {
  Json signatures = Json::array();
  for (const auto& s : envelope.signatures) {
    signatures.push_back({{"keyid", s.keyid}, {"sig", Base64Encode(s.sig)}});
  }
  return {{"payload", Base64Encode(envelope.payload)},
          {"payloadType", envelope.payload_type},
          {"signatures", signatures}};
}

std::string EnvelopeToJson(const DsseEnvelope& envelope) {
  return EnvelopeToJsonValue(envelope).dump();
}

absl::StatusOr<DsseEnvelope> EnvelopeFromJsonValue(const Json& json,
                                                   std::string_view path) {
  if (!json.is_object()) {
    return absl::InvalidArgumentError(StrCat(path, ": not a JSON object"));
  }
  const std::string where = StrCat(path, ".");
  DsseEnvelope envelope;
  auto type = StringField(json, "payloadType", where);
  if (!type.ok()) return type.status();
  envelope.payload_type = *std::move(type);
  auto payload = Base64Field(json, "payload", where);
  if (!payload.ok()) return payload.status();
  envelope.payload = *std::move(payload);
  auto signatures = json.find("signatures");
  if (signatures == json.end() || !signatures->is_array()) {
    return absl::InvalidArgumentError(
        StrCat(where, "signatures: missing or not an array"));
  }
  for (size_t i = 0; i < signatures->size(); ++i) {
    const Json& s = (*signatures)[i];
    const std::string sig_where = StrCat(where, "signatures[", i, "].");
    if (!s.is_object()) {
      return absl::InvalidArgumentError(StrCat(sig_where, ": not an object"));
    }
    DsseSignature signature;
    // keyid is optional in DSSE; Loupe's verifier needs it to find the key.
    if (s.contains("keyid")) {
      auto keyid = StringField(s, "keyid", sig_where);
      if (!keyid.ok()) return keyid.status();
      signature.keyid = *std::move(keyid);
    }
    auto sig = Base64Field(s, "sig", sig_where);
    if (!sig.ok()) return sig.status();
    signature.sig = *std::move(sig);
    envelope.signatures.push_back(std::move(signature));
  }
  return envelope;
}

absl::StatusOr<DsseEnvelope> EnvelopeFromJson(std::string_view text) {
  auto json = ParseJson(text, "envelope");
  if (!json.ok()) return json.status();
  return EnvelopeFromJsonValue(*json);
}

absl::StatusOr<VerifiedPayload> VerifyEnvelope(const DsseEnvelope& envelope,
                                               const KeyLookup& lookup) {
  if (envelope.signatures.empty()) {
    return absl::UnauthenticatedError("signature: the envelope has none");
  }
  const std::string pae =
      PreAuthEncoding(envelope.payload_type, envelope.payload);
  std::string reasons;
  for (const auto& s : envelope.signatures) {
    const std::optional<PublicKey> key = lookup(s.keyid);
    if (!key) {
      StrAppendReason(&reasons, StrCat("key id ", s.keyid, " is not trusted"));
      continue;
    }
    if (VerifySignature(*key, pae, s.sig)) {
      return VerifiedPayload{envelope.payload_type, envelope.payload, s.keyid};
    }
    StrAppendReason(
        &reasons, StrCat("the signature by key ", s.keyid, " does not verify"));
  }
  return absl::UnauthenticatedError(StrCat("signature: ", reasons));
}

std::vector<std::string> VerifiedKeyIds(const DsseEnvelope& envelope,
                                        const KeyLookup& lookup) {
  const std::string pae =
      PreAuthEncoding(envelope.payload_type, envelope.payload);
  std::vector<std::string> verified;
  for (const auto& s : envelope.signatures) {
    if (std::find(verified.begin(), verified.end(), s.keyid) !=
        verified.end()) {
      continue;
    }
    const std::optional<PublicKey> key = lookup(s.keyid);
    if (key && VerifySignature(*key, pae, s.sig)) verified.push_back(s.keyid);
  }
  return verified;
}

std::string Base64Encode(std::string_view bytes) {
  (void)EnsureSodium();
  std::string out(
      sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL),
      '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // The terminating NUL.
  return out;
}

absl::StatusOr<std::string> Base64Decode(std::string_view text) {
  if (!EnsureSodium()) return absl::InternalError("libsodium unavailable");
  const bool url_safe = text.find_first_of("-_") != std::string_view::npos;
  const bool padded = !text.empty() && text.back() == '=';
  const int variant =
      url_safe ? (padded ? sodium_base64_VARIANT_URLSAFE
                         : sodium_base64_VARIANT_URLSAFE_NO_PADDING)
               : (padded ? sodium_base64_VARIANT_ORIGINAL
                         : sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()),
                        out.size(), text.data(), text.size(), nullptr, &length,
                        &end, variant) != 0 ||
      end != text.data() + text.size()) {
    return absl::InvalidArgumentError("not valid base64");
  }
  out.resize(length);
  return out;
}

}  // namespace loupe::crypto
