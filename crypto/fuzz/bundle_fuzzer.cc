// libFuzzer target: `loupe verify` reads bundles from anyone. ParseBundle
// (and the statement, log proof and envelopes inside) must refuse or accept
// any bytes without crashing, and what it accepts must encode again.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/bundle.h"
#include "crypto/statement.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto bundle = loupe::crypto::ParseBundle(text);
  if (!bundle.ok()) return 0;
  (void)loupe::crypto::ParseStatement(bundle->certificate.payload);
  // What parses encodes, and the encoding parses again.
  if (!loupe::crypto::ParseBundle(loupe::crypto::EncodeBundle(*bundle)).ok()) {
    __builtin_trap();
  }
  return 0;
}
