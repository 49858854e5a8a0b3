#pragma once

namespace loupe::crypto {

// Initialises libsodium once (thread-safe); false if it cannot be used.
// Every function of this module that calls libsodium calls this first.
[[nodiscard]] bool EnsureSodium();

}  // namespace loupe::crypto
