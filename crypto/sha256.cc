#include "crypto/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <utility>

#include "absl/status/status.h"

namespace loupe::crypto {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
  Impl() : ctx(EVP_MD_CTX_new()) {
    if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
      std::abort();  // Out of memory in OpenSSL: nothing sensible to do.
    }
  }
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(std::string_view bytes) {
  Update(bytes.data(), bytes.size());
}

void Sha256::Update(const void* data, size_t size) {
  if (size > 0) EVP_DigestUpdate(impl_->ctx, data, size);
}

Sha256Digest Sha256::Finish() {
  Sha256Digest out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
  return out;
}

Sha256Digest Sha256::Of(std::string_view bytes) {
  Sha256 h;
  h.Update(bytes);
  return h.Finish();
}

std::string Sha256::HexOf(std::string_view bytes) { return ToHex(Of(bytes)); }

std::string ToHex(const uint8_t* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '\0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

std::string ToHex(std::string_view bytes) {
  return ToHex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::string ToHex(const Sha256Digest& digest) {
  return ToHex(digest.data(), digest.size());
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}
}  // namespace

bool IsSha256Hex(std::string_view hex) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (HexValue(c) < 0) return false;
  }
  return true;
}

absl::StatusOr<Sha256Digest> ParseSha256Hex(std::string_view hex) {
  if (!IsSha256Hex(hex)) {
    return absl::InvalidArgumentError(
        "must be 64 lower-case hexadecimal characters");
  }
  Sha256Digest out{};
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(HexValue(hex[2 * i]) << 4 |
                                  HexValue(hex[2 * i + 1]));
  }
  return out;
}

}  // namespace loupe::crypto
