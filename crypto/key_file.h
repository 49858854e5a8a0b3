#pragma once

// Secret signing keys at rest: the 32-byte Ed25519 seed encrypted with
// XChaCha20-Poly1305 under a key derived from a passphrase by Argon2id
// (libsodium). The file is JSON, documented in docs/certificate-format.md:
//   {"cipher": "xchacha20poly1305-ietf", "ciphertext": b64,
//    "format": "loupe-secret-key-v1",
//    "kdf": {"alg": "argon2id13", "memlimit": N, "opslimit": N, "salt": b64},
//    "keyid": hex, "nonce": b64, "public_key": hex}
// The associated data binds the format name and the public key, so neither
// can be swapped without the decryption failing.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/ed25519.h"

namespace loupe::crypto {

// Bytes in sodium_malloc memory (guarded, locked, wiped on free). Move-only.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  [[nodiscard]] uint8_t* data() { return data_; }
  [[nodiscard]] const uint8_t* data() const { return data_; }
  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] std::string_view view() const {
    return {reinterpret_cast<const char*>(data_), size_};
  }
  // Drops trailing "\n" / "\r\n" (passphrase files end with one).
  void TrimNewline();

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Argon2id cost. kModerate (256 MiB, about a second) is the default for
// keys on disk; tests use kInteractive.
struct KdfCost {
  uint64_t opslimit;
  uint64_t memlimit;
};
extern const KdfCost kKdfInteractive;
extern const KdfCost kKdfModerate;

// Encrypts `key` under `passphrase`; returns the file's contents.
[[nodiscard]] absl::StatusOr<std::string> SealSigningKey(
    const SigningKey& key, std::string_view passphrase,
    const KdfCost& cost = kKdfModerate);

// Decrypts a key file. INVALID_ARGUMENT naming the field for a malformed
// file (including an Argon2id cost beyond 1 GiB or the sensitive limit);
// PERMISSION_DENIED if the passphrase is wrong or the file was altered.
[[nodiscard]] absl::StatusOr<SigningKey> OpenSigningKey(
    std::string_view file_contents, std::string_view passphrase);

// Where a passphrase comes from, tried in this order: a file (first line),
// an environment variable, a prompt on the terminal (no echo).
struct PassphraseSource {
  std::string file;
  std::string env_var = "LOUPE_KEY_PASSPHRASE";
  bool allow_prompt = true;
  std::string prompt = "Passphrase: ";
};

// FAILED_PRECONDITION saying what to do if no source gives a passphrase;
// INVALID_ARGUMENT for an empty one.
[[nodiscard]] absl::StatusOr<SecretBytes> ReadPassphrase(
    const PassphraseSource& source);

}  // namespace loupe::crypto
