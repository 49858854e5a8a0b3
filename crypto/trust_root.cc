#include "crypto/trust_root.h"

#include <algorithm>
#include <set>

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "crypto/canonical_json.h"
#include "crypto/json_limits.h"
#include "crypto/sha256.h"

namespace loupe::crypto {
namespace {

using Json = nlohmann::json;

constexpr char kType[] = "https://loupe.dev/TrustRoot/v1";

bool KnownRole(std::string_view role) {
  return role == kRoleRoot || role == kRoleCertificate ||
         role == kRoleCheckpoint;
}

std::string FormatUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseTime(const Json& value,
                                     const std::string& path) {
  absl::Time t;
  std::string error;
  if (!value.is_string() ||
      !absl::ParseTime("%Y-%m-%dT%H:%M:%SZ", value.get<std::string>(),
                       absl::UTCTimeZone(), &t, &error)) {
    return absl::InvalidArgumentError(
        StrCat(path, ": must be a UTC time like 2026-11-23T00:00:00Z"));
  }
  return t;
}

absl::StatusOr<RootKey> ParseKey(const Json& k, const std::string& path) {
  if (!k.is_object())
    return absl::InvalidArgumentError(StrCat(path, ": not an object"));
  RootKey key;
  const auto pub = k.find("public_key");
  if (pub == k.end() || !pub->is_string()) {
    return absl::InvalidArgumentError(StrCat(path, ".public_key: missing"));
  }
  auto parsed = ParsePublicKeyHex(pub->get<std::string>());
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(StrCat(path, ".public_key: not 64 hex"));
  }
  key.public_key = *parsed;
  const auto keyid = k.find("keyid");
  if (keyid == k.end() || *keyid != key.keyid()) {
    return absl::InvalidArgumentError(
        StrCat(path, ".keyid: must be the SHA-256 of the public key"));
  }
  const auto roles = k.find("roles");
  if (roles == k.end() || !roles->is_array() || roles->empty()) {
    return absl::InvalidArgumentError(StrCat(path, ".roles: missing"));
  }
  for (const auto& role : *roles) {
    if (!role.is_string() || !KnownRole(role.get<std::string>())) {
      return absl::InvalidArgumentError(
          StrCat(path, ".roles: root, certificate or checkpoint"));
    }
    key.roles.push_back(role.get<std::string>());
  }
  auto from = ParseTime(k.value("valid_from", Json()), path + ".valid_from");
  if (!from.ok()) return from.status();
  key.valid_from = *from;
  if (k.contains("valid_until")) {
    auto until = ParseTime(k["valid_until"], path + ".valid_until");
    if (!until.ok()) return until.status();
    if (*until <= key.valid_from) {
      return absl::InvalidArgumentError(
          StrCat(path, ".valid_until: not after valid_from"));
    }
    key.valid_until = *until;
  }
  return key;
}

// "witnesses" and "witness_threshold", both optional.
absl::Status ParseWitnesses(const Json& json, TrustRoot* root) {
  const Json list = json.value("witnesses", Json::array());
  if (!list.is_array()) {
    return absl::InvalidArgumentError("root.witnesses: not an array");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = StrCat("root.witnesses[", i, "]");
    const Json& w = list[i];
    if (!w.is_object() || !w.contains("name") || !w["name"].is_string() ||
        !ValidKeyName(w["name"].get<std::string>())) {
      return absl::InvalidArgumentError(
          StrCat(path, ".name: a key name (non-empty, no spaces or \"+\")"));
    }
    auto key = w.contains("public_key") && w["public_key"].is_string()
                   ? ParsePublicKeyHex(w["public_key"].get<std::string>())
                   : absl::StatusOr<PublicKey>(absl::InvalidArgumentError(""));
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          StrCat(path, ".public_key: not 64 hex"));
    }
    for (const auto& other : root->witnesses) {
      if (other.name == w["name"] || other.public_key == *key) {
        return absl::InvalidArgumentError(
            StrCat(path, ": duplicate name or public key"));
      }
    }
    root->witnesses.push_back({w["name"].get<std::string>(), *key});
  }
  const Json k = json.value("witness_threshold", Json(uint64_t{0}));
  if (!k.is_number_unsigned() || k.get<uint64_t>() > root->witnesses.size()) {
    return absl::InvalidArgumentError(
        "root.witness_threshold: between 0 (no policy) and the number of "
        "witnesses");
  }
  root->witness_threshold = k.get<uint32_t>();
  return absl::OkStatus();
}

KeyLookup RootKeys(const TrustRoot& root) {
  return KeysWithRole(root, kRoleRoot);
}

absl::Status CheckThreshold(const DsseEnvelope& envelope,
                            const TrustRoot& signers, std::string_view which) {
  const size_t valid = VerifiedKeyIds(envelope, RootKeys(signers)).size();
  if (valid < signers.threshold) {
    return absl::PermissionDeniedError(
        StrCat("root: ", valid, " valid signature(s) by ", which, " (v",
               signers.version, ") root keys; ", signers.threshold, " needed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TrustRoot> ParseSigned(const DsseEnvelope& envelope) {
  if (envelope.payload_type != kRootPayloadType) {
    return absl::InvalidArgumentError(
        StrCat("root: payloadType must be ", kRootPayloadType));
  }
  return ParseRoot(envelope.payload);
}

}  // namespace

bool RootKey::HasRole(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

const RootKey* TrustRoot::FindKey(std::string_view keyid) const {
  for (const auto& key : keys) {
    if (key.keyid() == keyid) return &key;
  }
  return nullptr;
}

absl::StatusOr<PublicKey> TrustRoot::KeyValidAt(std::string_view keyid,
                                                std::string_view role,
                                                absl::Time when) const {
  const RootKey* key = FindKey(keyid);
  if (key == nullptr) {
    return absl::PermissionDeniedError(
        StrCat("key ", keyid, " is not in trust root v", version));
  }
  if (!key->HasRole(role)) {
    return absl::PermissionDeniedError(
        StrCat("key ", keyid, " may not sign ", role, "s"));
  }
  if (when < key->valid_from ||
      (key->valid_until && when >= *key->valid_until)) {
    return absl::PermissionDeniedError(StrCat(
        "key ", keyid, " was not valid at ", FormatUtc(when), " (valid from ",
        FormatUtc(key->valid_from),
        key->valid_until ? StrCat(" until ", FormatUtc(*key->valid_until))
                         : std::string(),
        ")"));
  }
  return key->public_key;
}

absl::StatusOr<std::string> EncodeRoot(const TrustRoot& root) {
  Json keys = Json::array();
  for (const auto& key : root.keys) {
    Json k = {
        {"keyid", key.keyid()},
        {"public_key", ToHex(key.public_key.data(), key.public_key.size())},
        {"roles", key.roles},
        {"valid_from", FormatUtc(key.valid_from)}};
    if (key.valid_until) k["valid_until"] = FormatUtc(*key.valid_until);
    keys.push_back(std::move(k));
  }
  Json json = {{"_type", kType},
               {"origin", root.origin},
               {"version", root.version},
               {"threshold", root.threshold},
               {"keys", keys}};
  // Absent when empty, so a root without witnesses is as before.
  if (!root.witnesses.empty()) {
    Json witnesses = Json::array();
    for (const auto& w : root.witnesses) {
      witnesses.push_back(
          {{"name", w.name},
           {"public_key", ToHex(w.public_key.data(), w.public_key.size())}});
    }
    json["witnesses"] = std::move(witnesses);
  }
  if (root.witness_threshold > 0) {
    json["witness_threshold"] = root.witness_threshold;
  }
  auto encoded = CanonicalJson(json);
  if (!encoded.ok()) return encoded.status();
  // Parse back: only roots that verifiers accept are ever signed.
  if (auto parsed = ParseRoot(*encoded); !parsed.ok()) return parsed.status();
  return encoded;
}

absl::StatusOr<TrustRoot> ParseRoot(std::string_view payload) {
  auto parsed = ParseJson(payload, "root");
  if (!parsed.ok()) return parsed.status();
  const Json& json = *parsed;
  if (!json.is_object()) {
    return absl::InvalidArgumentError("root: not a JSON object");
  }
  if (json.value("_type", "") != kType) {
    return absl::InvalidArgumentError(StrCat("root._type: must be ", kType));
  }
  TrustRoot root;
  if (!json.contains("origin") || !json["origin"].is_string() ||
      json["origin"].get<std::string>().empty()) {
    return absl::InvalidArgumentError("root.origin: missing");
  }
  root.origin = json["origin"].get<std::string>();
  if (!json.contains("version") || !json["version"].is_number_unsigned() ||
      json["version"].get<uint64_t>() == 0) {
    return absl::InvalidArgumentError("root.version: must be an integer >= 1");
  }
  root.version = json["version"].get<uint64_t>();
  const Json keys = json.value("keys", Json());
  if (!keys.is_array() || keys.empty()) {
    return absl::InvalidArgumentError("root.keys: missing or empty");
  }
  std::set<std::string> seen;
  size_t root_keys = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto key = ParseKey(keys[i], StrCat("root.keys[", i, "]"));
    if (!key.ok()) return key.status();
    if (!seen.insert(key->keyid()).second) {
      return absl::InvalidArgumentError(
          StrCat("root.keys[", i, "]: duplicate"));
    }
    root_keys += key->HasRole(kRoleRoot) ? 1 : 0;
    root.keys.push_back(*std::move(key));
  }
  if (!json.contains("threshold") || !json["threshold"].is_number_unsigned() ||
      json["threshold"].get<uint64_t>() == 0 ||
      json["threshold"].get<uint64_t>() > root_keys) {
    return absl::InvalidArgumentError(
        "root.threshold: between 1 and the number of root keys");
  }
  root.threshold = json["threshold"].get<uint32_t>();
  if (auto s = ParseWitnesses(json, &root); !s.ok()) return s;
  return root;
}

absl::StatusOr<DsseEnvelope> SignRoot(
    const TrustRoot& root, const std::vector<const SigningKey*>& signers) {
  auto payload = EncodeRoot(root);
  if (!payload.ok()) return payload.status();
  DsseEnvelope envelope{kRootPayloadType, *payload, {}};
  for (const SigningKey* key : signers) {
    envelope.signatures.push_back(
        SignEnvelope(kRootPayloadType, *payload, *key).signatures[0]);
  }
  return envelope;
}

absl::StatusOr<TrustRoot> VerifyInitialRoot(const DsseEnvelope& envelope) {
  auto root = ParseSigned(envelope);
  if (!root.ok()) return root.status();
  if (auto s = CheckThreshold(envelope, *root, "its own"); !s.ok()) return s;
  return root;
}

absl::StatusOr<TrustRoot> VerifyNextRoot(const TrustRoot& trusted,
                                         const DsseEnvelope& next) {
  auto root = ParseSigned(next);
  if (!root.ok()) return root.status();
  if (root->origin != trusted.origin) {
    return absl::PermissionDeniedError(
        StrCat("root: origin ", root->origin, " is not ", trusted.origin));
  }
  if (root->version <= trusted.version) {
    return absl::PermissionDeniedError(StrCat("root: version ", root->version,
                                              " is a rollback from v",
                                              trusted.version));
  }
  if (root->version != trusted.version + 1) {
    return absl::PermissionDeniedError(StrCat("root: version ", root->version,
                                              " skips v", trusted.version + 1,
                                              "; give every root in between"));
  }
  if (auto s = CheckThreshold(next, trusted, "the previous"); !s.ok()) return s;
  if (auto s = CheckThreshold(next, *root, "its own"); !s.ok()) return s;
  return root;
}

absl::StatusOr<TrustRoot> FollowRoots(TrustRoot trusted,
                                      const std::vector<DsseEnvelope>& chain) {
  for (const auto& envelope : chain) {
    auto parsed = ParseSigned(envelope);
    if (!parsed.ok()) return parsed.status();
    if (parsed->version <= trusted.version &&
        parsed->origin == trusted.origin) {
      continue;  // Already known.
    }
    auto next = VerifyNextRoot(trusted, envelope);
    if (!next.ok()) return next.status();
    trusted = *std::move(next);
  }
  return trusted;
}

KeyLookup KeysWithRole(const TrustRoot& root, std::string_view role) {
  return [&root, role = std::string(role)](
             std::string_view keyid) -> std::optional<PublicKey> {
    const RootKey* key = root.FindKey(keyid);
    if (key == nullptr || !key->HasRole(role)) return std::nullopt;
    return key->public_key;
  };
}

}  // namespace loupe::crypto
