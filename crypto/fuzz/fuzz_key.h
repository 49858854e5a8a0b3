#pragma once

// The fuzz targets' fixed key (seed 0x07 x 32), so that a target can sign
// what the fuzzer wrote and reach the parsers behind a signature check.

#include <cstdlib>
#include <string>

#include "crypto/ed25519.h"

namespace loupe::crypto::fuzz {

inline const SigningKey& FuzzKey() {
  static const SigningKey* key = [] {
    auto k = SigningKey::FromSeed(std::string(32, '\x07'));
    if (!k.ok()) std::abort();
    return new SigningKey(*std::move(k));
  }();
  return *key;
}

}  // namespace loupe::crypto::fuzz
