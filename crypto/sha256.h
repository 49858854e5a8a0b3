#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace loupe::crypto {

// A SHA-256 digest: 32 raw bytes.
using Sha256Digest = std::array<uint8_t, 32>;

// Incremental SHA-256 over OpenSSL's EVP interface (which uses the CPU's SHA
// extensions; about 10x faster than libsodium's portable code here).
//
// Not thread-safe: one hasher per stream. Movable, not copyable.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // Adds bytes to the stream.
  void Update(std::string_view bytes);
  void Update(const void* data, size_t size);

  // Returns the digest of everything added so far and resets the hasher.
  [[nodiscard]] Sha256Digest Finish();

  // One-shot helpers.
  [[nodiscard]] static Sha256Digest Of(std::string_view bytes);
  [[nodiscard]] static std::string HexOf(std::string_view bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Lower-case hexadecimal of raw bytes.
[[nodiscard]] std::string ToHex(const uint8_t* data, size_t size);
[[nodiscard]] std::string ToHex(const Sha256Digest& digest);
[[nodiscard]] std::string ToHex(std::string_view bytes);

// True if `hex` is exactly 64 lower-case hex characters.
[[nodiscard]] bool IsSha256Hex(std::string_view hex);

// Parses 64 lower-case hex characters; INVALID_ARGUMENT otherwise.
[[nodiscard]] absl::StatusOr<Sha256Digest> ParseSha256Hex(std::string_view hex);

}  // namespace loupe::crypto
