#include "crypto/random.h"

#include <sodium.h>

#include <cstdlib>

#include "crypto/sodium_init.h"

namespace loupe::crypto {
namespace {

void RequireSodium() {
  if (!EnsureSodium()) std::abort();
}

// RFC 4648 base32, lower case, no padding.
std::string Base32(const std::string& bytes) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

}  // namespace

bool EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

std::string RandomBytes(size_t n) {
  RequireSodium();
  std::string out(n, '\0');
  randombytes_buf(out.data(), n);
  return out;
}

std::string RandomId(std::string_view prefix) {
  return std::string(prefix) + Base32(RandomBytes(16));
}

std::string NewBearerToken() { return "loupe_" + Base32(RandomBytes(32)); }

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  RequireSodium();
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace loupe::crypto
