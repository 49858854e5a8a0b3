#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
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

  // A certificate of `version` of `piece`, issued at `now`, naming the
  // parent version's certificate (empty if none).
  [[nodiscard]] absl::StatusOr<v1::Certificate> Issue(
      const v1::Piece& piece, const v1::TwinVersion& version,
      std::string_view parent_certificate_id, absl::Time now) const;

 private:
  CertificateSigner(crypto::SigningKey key,
                    std::vector<crypto::DsseEnvelope> roots)
      : key_(std::move(key)), roots_(std::move(roots)) {}

  crypto::SigningKey key_;
  std::vector<crypto::DsseEnvelope> roots_;  // Oldest first.
};

}  // namespace loupe::server
