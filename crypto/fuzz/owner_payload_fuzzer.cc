// libFuzzer target: the payloads owners sign (transfers, status reports)
// and the registry's status statements. The fuzz key signs the fuzzer's
// bytes so that the parsers behind the signature checks are reached: each
// must refuse or accept any payload without crashing, and accepts only
// canonical JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/time/time.h"
#include "crypto/canonical_json.h"
#include "crypto/fuzz/fuzz_key.h"
#include "crypto/json_limits.h"
#include "crypto/piece_status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loupe::crypto;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  const SigningKey& key = fuzz::FuzzKey();
  bool accepted = false;
  accepted |=
      ParseOwnerTransfer(SignEnvelope(kOwnerTransferPayloadType, payload, key))
          .ok();
  accepted |=
      VerifyStatusReport(SignEnvelope(kStatusReportPayloadType, payload, key),
                         key.public_key())
          .ok();
  static const TrustRoot* root = [] {
    auto* r = new TrustRoot;
    r->origin = "registry.example/loupe";
    r->keys.push_back({fuzz::FuzzKey().public_key(),
                       {kRoleCertificate},
                       absl::InfinitePast(),
                       std::nullopt});
    return r;
  }();
  accepted |= VerifyPieceStatus(
                  SignEnvelope(kPieceStatusPayloadType, payload, key), *root)
                  .ok();
  if (accepted) {
    auto json = ParseJson(payload, "payload");
    if (!json.ok() || CanonicalJson(*json).value_or("") != payload) {
      __builtin_trap();  // A non-canonical payload was accepted.
    }
  }
  return 0;
}
