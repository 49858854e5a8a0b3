#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/merkle.h"
#include "loupe/v1/config.pb.h"
#include "loupe/v1/registry.pb.h"

namespace loupe::server {

// Signs certificates with the registry's key, and hands out the trust roots
// verifiers need with each bundle. Immutable after Load; thread-safe.
class CertificateSigner {
 public:
  // Loads the key and the root chain. INVALID_ARGUMENT naming the option if
  // a file is unreadable or malformed, the chain does not verify, or the
  // key is not a valid certificate key of the newest root.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<CertificateSigner>> Load(
      const v1::SigningConfig& config);

  struct Issued {
    v1::Certificate certificate;
    std::string log_entry;  // What the transparency log records of it.
  };
  // A certificate of `version` of `piece`, issued at `now`, naming the
  // parent version's certificate (empty if none).
  [[nodiscard]] absl::StatusOr<Issued> Issue(
      const v1::Piece& piece, const v1::TwinVersion& version,
      std::string_view parent_certificate_id, absl::Time now) const;

  // The log's origin (the trust root's) and a checkpoint of the tree of
  // `size` entries with `root`, as a signed note (the key has the
  // checkpoint role).
  [[nodiscard]] const std::string& origin() const { return origin_; }
  [[nodiscard]] std::string SignCheckpoint(uint64_t size,
                                           const crypto::Hash& root) const;
  // True if `note` carries this key's checkpoint signature (a checkpoint
  // signed before a key rotation does not, and is signed again).
  [[nodiscard]] bool SignedCheckpoint(std::string_view note) const;
  // The trust roots after v1, oldest first: what a verifier holding v1
  // follows to the current one (bundles and checkpoints carry them).
  [[nodiscard]] std::vector<crypto::DsseEnvelope> Rotations() const {
    return {roots_.begin() + 1, roots_.end()};
  }
  // `payload` with "keyid" added, canonical, signed as `payload_type`.
  // INVALID_ARGUMENT if a value has no canonical form.
  [[nodiscard]] absl::StatusOr<crypto::DsseEnvelope> SignJson(
      std::string_view payload_type, nlohmann::json payload) const;
  // A signed piece-status statement (crypto/piece_status.h) as of `now`.
  [[nodiscard]] absl::StatusOr<crypto::DsseEnvelope> SignStatus(
      const v1::Piece& piece, absl::Time now) const;

 private:
  CertificateSigner(crypto::SigningKey key,
                    std::vector<crypto::DsseEnvelope> roots, std::string origin)
      : key_(std::move(key)),
        roots_(std::move(roots)),
        origin_(std::move(origin)) {}

  crypto::SigningKey key_;
  std::vector<crypto::DsseEnvelope> roots_;  // Oldest first.
  std::string origin_;
};

// The word statements and log entries use for a status: "active",
// "suspended", "revoked", "lost", "stolen".
[[nodiscard]] std::string PieceStatusWord(v1::PieceStatus status);

}  // namespace loupe::server
