#include "crypto/ed25519.h"

#include <sodium.h>

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "crypto/sha256.h"
#include "crypto/sodium_init.h"

namespace loupe::crypto {
namespace {

static_assert(crypto_sign_PUBLICKEYBYTES == kPublicKeySize);
static_assert(crypto_sign_BYTES == kSignatureSize);
static_assert(crypto_sign_SEEDBYTES == kSeedSize);

}  // namespace

absl::StatusOr<SigningKey> SigningKey::Generate() {
  if (!EnsureSodium()) return absl::InternalError("libsodium unavailable");
  unsigned char seed[kSeedSize];
  randombytes_buf(seed, sizeof seed);
  auto key =
      FromSeed(std::string_view(reinterpret_cast<char*>(seed), kSeedSize));
  sodium_memzero(seed, sizeof seed);
  return key;
}

absl::StatusOr<SigningKey> SigningKey::FromSeed(std::string_view seed) {
  if (!EnsureSodium()) return absl::InternalError("libsodium unavailable");
  if (seed.size() != kSeedSize) {
    return absl::InvalidArgumentError("seed: an Ed25519 seed is 32 bytes");
  }
  SigningKey key;
  key.secret_ =
      static_cast<unsigned char*>(sodium_malloc(crypto_sign_SECRETKEYBYTES));
  if (key.secret_ == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate secure memory");
  }
  crypto_sign_seed_keypair(key.public_key_.data(), key.secret_,
                           reinterpret_cast<const unsigned char*>(seed.data()));
  sodium_mprotect_readonly(key.secret_);
  return key;
}

SigningKey::SigningKey(SigningKey&& other) noexcept
    : secret_(std::exchange(other.secret_, nullptr)),
      public_key_(other.public_key_) {}

SigningKey& SigningKey::operator=(SigningKey&& other) noexcept {
  if (this != &other) {
    if (secret_ != nullptr) sodium_free(secret_);
    secret_ = std::exchange(other.secret_, nullptr);
    public_key_ = other.public_key_;
  }
  return *this;
}

SigningKey::~SigningKey() {
  if (secret_ != nullptr) sodium_free(secret_);  // Wipes, then frees.
}

Signature SigningKey::Sign(std::string_view message) const {
  Signature signature{};
  crypto_sign_detached(signature.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_);
  return signature;
}

void SigningKey::ExportSeed(uint8_t out[kSeedSize]) const {
  crypto_sign_ed25519_sk_to_seed(out, secret_);
}

bool VerifySignature(const PublicKey& key, std::string_view message,
                     std::string_view signature) {
  if (!EnsureSodium() || signature.size() != kSignatureSize) return false;
  return crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(signature.data()),
             reinterpret_cast<const unsigned char*>(message.data()),
             message.size(), key.data()) == 0;
}

std::string KeyId(const PublicKey& key) {
  return Sha256::HexOf(
      std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

absl::StatusOr<PublicKey> ParsePublicKeyHex(std::string_view hex) {
  // Same shape as a SHA-256 digest: 32 bytes in lower-case hex.
  auto bytes = ParseSha256Hex(hex);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        "public key: must be 64 lower-case hexadecimal characters");
  }
  PublicKey key{};
  std::memcpy(key.data(), bytes->data(), key.size());
  return key;
}

}  // namespace loupe::crypto
