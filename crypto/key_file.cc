#include "crypto/key_file.h"

#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "crypto/dsse.h"
#include "crypto/json_limits.h"
#include "crypto/sha256.h"
#include "crypto/sodium_init.h"

namespace loupe::crypto {
namespace {

using Json = nlohmann::json;

constexpr char kFormat[] = "loupe-secret-key-v1";
constexpr uint64_t kMaxMemlimit = uint64_t{1} << 30;

std::string AssociatedData(const PublicKey& key) {
  return StrCat(
      kFormat,
      std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

// Derives the 32-byte file key. INTERNAL if Argon2id fails (out of memory).
absl::StatusOr<SecretBytes> DeriveKey(std::string_view passphrase,
                                      std::string_view salt,
                                      const KdfCost& cost) {
  SecretBytes key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  if (crypto_pwhash(
          key.data(), key.size(), passphrase.data(), passphrase.size(),
          reinterpret_cast<const unsigned char*>(salt.data()), cost.opslimit,
          cost.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError(
        "kdf: Argon2id could not allocate its memory");
  }
  return key;
}

absl::StatusOr<std::string> Field(const Json& json, const char* name,
                                  const char* path) {
  auto it = json.find(name);
  if (it == json.end() || !it->is_string()) {
    return absl::InvalidArgumentError(
        StrCat(path, ": missing or not a string"));
  }
  return it->get<std::string>();
}

absl::StatusOr<std::string> Base64(const Json& json, const char* name,
                                   const char* path, size_t size) {
  auto text = Field(json, name, path);
  if (!text.ok()) return text.status();
  auto bytes = Base64Decode(*text);
  if (!bytes.ok() || bytes->size() != size) {
    return absl::InvalidArgumentError(
        StrCat(path, ": must be base64 of ", size, " bytes"));
  }
  return bytes;
}

absl::StatusOr<KdfCost> ParseCost(const Json& kdf) {
  auto alg = Field(kdf, "alg", "kdf.alg");
  if (!alg.ok()) return alg.status();
  if (*alg != "argon2id13") {
    return absl::InvalidArgumentError("kdf.alg: only argon2id13 is supported");
  }
  const auto ops = kdf.find("opslimit");
  const auto mem = kdf.find("memlimit");
  if (ops == kdf.end() || !ops->is_number_unsigned() || mem == kdf.end() ||
      !mem->is_number_unsigned()) {
    return absl::InvalidArgumentError(
        "kdf.opslimit, kdf.memlimit: missing or not unsigned integers");
  }
  KdfCost cost{ops->get<uint64_t>(), mem->get<uint64_t>()};
  if (cost.opslimit < crypto_pwhash_OPSLIMIT_MIN ||
      cost.opslimit > crypto_pwhash_OPSLIMIT_SENSITIVE ||
      cost.memlimit < crypto_pwhash_MEMLIMIT_MIN ||
      cost.memlimit > kMaxMemlimit) {
    return absl::InvalidArgumentError(
        "kdf: cost outside what Loupe accepts (at most 1 GiB, opslimit 4)");
  }
  return cost;
}

std::string ReadLine(std::FILE* in) {
  std::string line;
  for (int c; (c = std::fgetc(in)) != EOF && c != '\n';) {
    line.push_back(static_cast<char>(c));
  }
  return line;
}

SecretBytes ToSecret(std::string&& plain) {
  SecretBytes secret(plain.size());
  std::copy(plain.begin(), plain.end(), secret.data());
  sodium_memzero(plain.data(), plain.size());
  secret.TrimNewline();
  return secret;
}

}  // namespace

const KdfCost kKdfInteractive = {crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                 crypto_pwhash_MEMLIMIT_INTERACTIVE};
const KdfCost kKdfModerate = {crypto_pwhash_OPSLIMIT_MODERATE,
                              crypto_pwhash_MEMLIMIT_MODERATE};

SecretBytes::SecretBytes(size_t size) : size_(size) {
  if (!EnsureSodium()) std::abort();
  data_ = static_cast<uint8_t*>(sodium_malloc(size == 0 ? 1 : size));
  if (data_ == nullptr) std::abort();  // Out of locked memory.
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() {
  if (data_ != nullptr) sodium_free(data_);
}

void SecretBytes::TrimNewline() {
  while (size_ > 0 && (data_[size_ - 1] == '\n' || data_[size_ - 1] == '\r')) {
    data_[--size_] = 0;
  }
}

absl::StatusOr<std::string> SealSigningKey(const SigningKey& key,
                                           std::string_view passphrase,
                                           const KdfCost& cost) {
  if (passphrase.empty()) {
    return absl::InvalidArgumentError("passphrase: empty");
  }
  if (!EnsureSodium()) return absl::InternalError("libsodium unavailable");
  std::string salt(crypto_pwhash_SALTBYTES, '\0');
  std::string nonce(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, '\0');
  randombytes_buf(salt.data(), salt.size());
  randombytes_buf(nonce.data(), nonce.size());
  auto file_key = DeriveKey(passphrase, salt, cost);
  if (!file_key.ok()) return file_key.status();
  SecretBytes seed(kSeedSize);
  key.ExportSeed(seed.data());
  std::string ciphertext(kSeedSize + crypto_aead_xchacha20poly1305_ietf_ABYTES,
                         '\0');
  const std::string ad = AssociatedData(key.public_key());
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(ciphertext.data()), nullptr, seed.data(),
      seed.size(), reinterpret_cast<const unsigned char*>(ad.data()), ad.size(),
      nullptr, reinterpret_cast<const unsigned char*>(nonce.data()),
      file_key->data());
  const Json json = {
      {"format", kFormat},
      {"public_key", ToHex(key.public_key().data(), key.public_key().size())},
      {"keyid", KeyId(key.public_key())},
      {"kdf",
       {{"alg", "argon2id13"},
        {"opslimit", cost.opslimit},
        {"memlimit", cost.memlimit},
        {"salt", Base64Encode(salt)}}},
      {"cipher", "xchacha20poly1305-ietf"},
      {"nonce", Base64Encode(nonce)},
      {"ciphertext", Base64Encode(ciphertext)}};
  return json.dump(2) + "\n";
}

absl::StatusOr<SigningKey> OpenSigningKey(std::string_view contents,
                                          std::string_view passphrase) {
  auto parsed = ParseJson(contents, "key file");
  if (!parsed.ok()) return parsed.status();
  const Json& json = *parsed;
  if (!json.is_object()) {
    return absl::InvalidArgumentError("key file: not a JSON object");
  }
  auto format = Field(json, "format", "format");
  if (!format.ok()) return format.status();
  if (*format != kFormat) {
    return absl::InvalidArgumentError(StrCat("format: expected ", kFormat));
  }
  auto pub_hex = Field(json, "public_key", "public_key");
  if (!pub_hex.ok()) return pub_hex.status();
  auto pub = ParsePublicKeyHex(*pub_hex);
  if (!pub.ok()) return pub.status();
  auto kdf = json.find("kdf");
  if (kdf == json.end() || !kdf->is_object()) {
    return absl::InvalidArgumentError("kdf: missing or not an object");
  }
  auto cost = ParseCost(*kdf);
  if (!cost.ok()) return cost.status();
  auto salt = Base64(*kdf, "salt", "kdf.salt", crypto_pwhash_SALTBYTES);
  if (!salt.ok()) return salt.status();
  auto nonce = Base64(json, "nonce", "nonce",
                      crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  if (!nonce.ok()) return nonce.status();
  auto ciphertext =
      Base64(json, "ciphertext", "ciphertext",
             kSeedSize + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  if (!ciphertext.ok()) return ciphertext.status();
  auto file_key = DeriveKey(passphrase, *salt, *cost);
  if (!file_key.ok()) return file_key.status();
  SecretBytes seed(kSeedSize);
  const std::string ad = AssociatedData(*pub);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          seed.data(), nullptr, nullptr,
          reinterpret_cast<const unsigned char*>(ciphertext->data()),
          ciphertext->size(), reinterpret_cast<const unsigned char*>(ad.data()),
          ad.size(), reinterpret_cast<const unsigned char*>(nonce->data()),
          file_key->data()) != 0) {
    return absl::PermissionDeniedError(
        "passphrase: wrong, or the key file was altered");
  }
  auto key = SigningKey::FromSeed(seed.view());
  if (!key.ok()) return key.status();
  if (key->public_key() != *pub) {
    return absl::PermissionDeniedError(
        "public_key: does not match the decrypted secret key");
  }
  return key;
}

absl::StatusOr<SecretBytes> ReadPassphrase(const PassphraseSource& source) {
  if (!source.file.empty()) {
    std::FILE* in = std::fopen(source.file.c_str(), "r");
    if (in == nullptr) {
      return absl::NotFoundError(
          StrCat("passphrase file ", source.file, ": cannot read"));
    }
    SecretBytes secret = ToSecret(ReadLine(in));
    std::fclose(in);
    if (secret.size() == 0) {
      return absl::InvalidArgumentError(
          StrCat("passphrase file ", source.file, ": empty"));
    }
    return secret;
  }
  if (!source.env_var.empty()) {
    if (const char* value = std::getenv(source.env_var.c_str());
        value != nullptr && *value != '\0') {
      return ToSecret(std::string(value));
    }
  }
  if (source.allow_prompt && isatty(STDIN_FILENO)) {
    std::fputs(source.prompt.c_str(), stderr);
    termios saved{};
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    SecretBytes secret = ToSecret(ReadLine(stdin));
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fputc('\n', stderr);
    if (secret.size() == 0) {
      return absl::InvalidArgumentError("passphrase: empty");
    }
    return secret;
  }
  return absl::FailedPreconditionError(
      StrCat("passphrase: none given; use a passphrase file, set ",
             source.env_var, ", or run on a terminal"));
}

}  // namespace loupe::crypto
