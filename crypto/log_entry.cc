#include "crypto/log_entry.h"

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "crypto/canonical_json.h"
#include "crypto/dsse.h"
#include "crypto/sha256.h"
#include "crypto/witness_policy.h"

namespace loupe::crypto {

absl::StatusOr<std::string> EncodeLogEntry(std::string_view type,
                                           nlohmann::json fields) {
  fields["type"] = std::string(type);
  return CanonicalJson(fields);
}

std::string CertificateId(std::string_view payload) {
  return StrCat("ct_", Sha256::HexOf(payload).substr(0, 32));
}

std::string CertificateLogEntry(std::string_view payload,
                                std::string_view piece_id, uint32_t version) {
  nlohmann::json fields = {{"certificate_id", CertificateId(payload)},
                           {"piece_id", std::string(piece_id)},
                           {"statement_sha256", Sha256::HexOf(payload)},
                           {"version", version}};
  // Ids are ASCII and the rest are hex and integers: always canonical.
  return *EncodeLogEntry("certificate", std::move(fields));
}

nlohmann::json LogProofToJson(const LogProof& proof) {
  nlohmann::json hashes = nlohmann::json::array();
  for (const auto& h : proof.inclusion) {
    hashes.push_back(Base64Encode(
        std::string_view(reinterpret_cast<const char*>(h.data()), h.size())));
  }
  return {{"index", proof.index},
          {"tree_size", proof.tree_size},
          {"inclusion_proof", hashes},
          {"checkpoint", proof.checkpoint}};
}

absl::StatusOr<LogProof> LogProofFromJson(const nlohmann::json& json,
                                          std::string_view path) {
  auto bad = [&](std::string_view field, std::string_view why) {
    return absl::InvalidArgumentError(StrCat(path, ".", field, ": ", why));
  };
  if (!json.is_object())
    return absl::InvalidArgumentError(StrCat(path, ": not an object"));
  LogProof proof;
  for (const char* field : {"index", "tree_size"}) {
    if (!json.contains(field) || !json[field].is_number_unsigned()) {
      return bad(field, "missing or not a non-negative integer");
    }
  }
  proof.index = json["index"].get<uint64_t>();
  proof.tree_size = json["tree_size"].get<uint64_t>();
  if (!json.contains("checkpoint") || !json["checkpoint"].is_string()) {
    return bad("checkpoint", "missing or not a string");
  }
  proof.checkpoint = json["checkpoint"].get<std::string>();
  const auto& hashes = json.value("inclusion_proof", nlohmann::json());
  if (!hashes.is_array() || hashes.size() > 64) {
    return bad("inclusion_proof", "missing or not an array of hashes");
  }
  for (size_t i = 0; i < hashes.size(); ++i) {
    auto raw = hashes[i].is_string()
                   ? Base64Decode(hashes[i].get<std::string>())
                   : absl::StatusOr<std::string>(
                         absl::InvalidArgumentError("not a string"));
    if (!raw.ok() || raw->size() != Hash().size()) {
      return bad(StrCat("inclusion_proof[", i, "]"),
                 "not a base64 SHA-256 hash");
    }
    Hash h;
    std::copy(raw->begin(), raw->end(), h.begin());
    proof.inclusion.push_back(h);
  }
  return proof;
}

absl::StatusOr<Checkpoint> VerifyRootCheckpoint(std::string_view note,
                                                const TrustRoot& root,
                                                absl::Time now) {
  absl::Status last = absl::UnauthenticatedError(
      "checkpoint: the trust root lists no checkpoint key");
  bool retired_signer = false;  // Its message says more than "not signed".
  for (const auto& key : root.keys) {
    if (!key.HasRole(kRoleCheckpoint)) continue;
    auto checkpoint = VerifyCheckpoint(note, root.origin, key.public_key);
    if (absl::IsInvalidArgument(checkpoint.status())) {
      return absl::UnauthenticatedError(
          StrCat("checkpoint: ", checkpoint.status().message()));
    }
    if (!checkpoint.ok()) {
      if (retired_signer) continue;
      last = absl::UnauthenticatedError(
          StrCat("checkpoint: not signed by a checkpoint key of ", root.origin,
                 " (", checkpoint.status().message(), ")"));
      continue;
    }
    auto valid = root.KeyValidAt(key.keyid(), kRoleCheckpoint, now);
    if (valid.ok()) return checkpoint;
    // Witnesses who cosigned it while the key was valid still vouch for
    // the tree (a thief cannot get an old time from an honest witness).
    if (root.witness_threshold > 0) {
      auto witnessed = VerifyRetiredKeyCheckpoint(note, root);
      if (witnessed.ok()) return witnessed;
    }
    retired_signer = true;
    last = absl::UnauthenticatedError(StrCat(
        "checkpoint: signed only by a key no longer trusted to vouch for the "
        "log (",
        valid.status().message(),
        "); fetch fresh proofs with `loupe cert get --refresh` or verify "
        "--online"));
  }
  return last;
}

absl::StatusOr<Checkpoint> VerifySavedCheckpoint(std::string_view note,
                                                 const TrustRoot& root) {
  for (const auto& key : root.keys) {
    if (!key.HasRole(kRoleCheckpoint)) continue;
    auto checkpoint = VerifyCheckpoint(note, root.origin, key.public_key);
    if (checkpoint.ok() || absl::IsInvalidArgument(checkpoint.status())) {
      return checkpoint;
    }
  }
  return absl::UnauthenticatedError(
      StrCat("checkpoint: not signed by any checkpoint key of ", root.origin));
}

absl::StatusOr<Checkpoint> VerifyLogInclusion(std::string_view entry,
                                              const LogProof& proof,
                                              const TrustRoot& root,
                                              absl::Time now) {
  auto checkpoint = VerifyRootCheckpoint(proof.checkpoint, root, now);
  if (!checkpoint.ok()) return checkpoint.status();
  if (checkpoint->size != proof.tree_size) {
    return absl::UnauthenticatedError(StrCat("log.tree_size: ", proof.tree_size,
                                             " but the checkpoint is of size ",
                                             checkpoint->size));
  }
  if (!VerifyInclusion(LeafHash(entry), proof.index, proof.tree_size,
                       proof.inclusion, checkpoint->root)) {
    return absl::UnauthenticatedError(StrCat(
        "log.inclusion_proof: does not prove entry ", proof.index,
        " in the signed tree of ", proof.tree_size,
        " entries (this certificate was not logged as the bundle claims)"));
  }
  return checkpoint;
}

}  // namespace loupe::crypto
