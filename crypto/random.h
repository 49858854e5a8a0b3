#pragma once

#include <string>
#include <string_view>

namespace loupe::crypto {

// Cryptographically secure random identifiers and secrets (libsodium's
// randombytes). Thread-safe. Abort only if libsodium cannot initialise.

// `prefix` followed by 26 lower-case base32 characters carrying 128 random
// bits, e.g. "pc_" -> "pc_5jx2...". Unguessable; used for piece ids.
[[nodiscard]] std::string RandomId(std::string_view prefix);

// A bearer token: "loupe_" followed by 52 base32 characters (256 bits).
[[nodiscard]] std::string NewBearerToken();

// `n` raw random bytes.
[[nodiscard]] std::string RandomBytes(size_t n);

// Constant-time equality of two byte strings of equal length; false if the
// lengths differ (the length is not secret).
[[nodiscard]] bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace loupe::crypto
