#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace loupe::crypto {

inline constexpr size_t kSeedSize = 32;
inline constexpr size_t kPublicKeySize = 32;
inline constexpr size_t kSignatureSize = 64;

using PublicKey = std::array<uint8_t, kPublicKeySize>;
using Signature = std::array<uint8_t, kSignatureSize>;

// An Ed25519 signing key (libsodium). The secret lives in sodium_malloc
// memory: guard pages, locked out of swap, read-only while held, wiped when
// freed. Move-only. Sign() is const and safe from several threads.
class SigningKey {
 public:
  // A new random key.
  [[nodiscard]] static absl::StatusOr<SigningKey> Generate();
  // The key for a 32-byte seed (RFC 8032's "secret key"). INVALID_ARGUMENT
  // for another length. The caller wipes its own copy of the seed.
  [[nodiscard]] static absl::StatusOr<SigningKey> FromSeed(
      std::string_view seed);

  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(SigningKey&& other) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();

  [[nodiscard]] const PublicKey& public_key() const { return public_key_; }
  [[nodiscard]] Signature Sign(std::string_view message) const;
  // Copies the 32-byte seed into `out` (e.g. sodium memory, to encrypt it
  // for storage). The caller wipes it.
  void ExportSeed(uint8_t out[kSeedSize]) const;

 private:
  SigningKey() = default;

  unsigned char* secret_ = nullptr;  // 64 bytes of sodium_malloc memory.
  PublicKey public_key_{};
};

// True if `signature` (64 bytes) is a valid Ed25519 signature of `message`
// by `key`. Any other length is simply invalid.
[[nodiscard]] bool VerifySignature(const PublicKey& key,
                                   std::string_view message,
                                   std::string_view signature);

// Loupe's key id: the lower-case hex SHA-256 of the 32-byte public key.
[[nodiscard]] std::string KeyId(const PublicKey& key);

// Parses 64 hex characters into a public key; INVALID_ARGUMENT otherwise.
[[nodiscard]] absl::StatusOr<PublicKey> ParsePublicKeyHex(std::string_view hex);

}  // namespace loupe::crypto
