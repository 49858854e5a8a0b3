// libFuzzer target: trust roots arrive in files and in bundles (a chain of
// successors). ParseRoot must refuse or accept any payload without
// crashing; a payload signed by the fuzz key reaches the threshold checks.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/fuzz/fuzz_key.h"
#include "crypto/trust_root.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loupe::crypto;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  auto root = ParseRoot(payload);
  if (root.ok()) {
    // What parses encodes canonically, and parses again.
    auto encoded = EncodeRoot(*root);
    if (encoded.ok() && !ParseRoot(*encoded).ok()) __builtin_trap();
  }
  const DsseEnvelope envelope =
      SignEnvelope(kRootPayloadType, payload, fuzz::FuzzKey());
  auto first = VerifyInitialRoot(envelope);
  if (first.ok()) (void)VerifyNextRoot(*first, envelope);
  return 0;
}
