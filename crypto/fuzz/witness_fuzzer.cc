// libFuzzer target: what a witness and a verifier parse from strangers (an
// add-checkpoint body, its signed note, a 409 answer, cosignature lines)
// must be refused or accepted without crashing, hanging or reading out of
// bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/checkpoint.h"
#include "crypto/cosignature.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  static const loupe::crypto::Cosigner kWitness{
      "witness.example/w1", loupe::crypto::PublicKey{1, 2, 3}};
  auto request = loupe::crypto::ParseAddCheckpoint(bytes);
  const std::string_view note = request.ok() ? request->checkpoint : bytes;
  if (auto parsed = loupe::crypto::ParseSignedNote(note); parsed.ok()) {
    (void)loupe::crypto::ParseCheckpointBody(parsed->body);
    (void)loupe::crypto::VerifyNoteSigners(*parsed, "registry.example/loupe",
                                           {kWitness.public_key});
  }
  (void)loupe::crypto::VerifyCosignatures(note, {kWitness});
  (void)loupe::crypto::ParseTlogSize(bytes);
  return 0;
}
