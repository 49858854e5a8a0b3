// libFuzzer target: DSSE envelopes (certificates, roots, status statements,
// owner requests) come from the network and from files. EnvelopeFromJson
// must refuse or accept any bytes without crashing; an accepted envelope
// round-trips and its signatures are checked without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/dsse.h"
#include "crypto/fuzz/fuzz_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loupe::crypto;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto envelope = EnvelopeFromJson(text);
  if (!envelope.ok()) return 0;
  auto again = EnvelopeFromJson(EnvelopeToJson(*envelope));
  if (!again.ok() || again->payload != envelope->payload ||
      again->signatures.size() != envelope->signatures.size()) {
    __builtin_trap();
  }
  const PublicKey key = fuzz::FuzzKey().public_key();
  (void)VerifyEnvelope(*envelope, [&](std::string_view) { return key; });
  (void)VerifiedKeyIds(*envelope, [&](std::string_view) { return key; });
  return 0;
}
