// libFuzzer target: checkpoints (C2SP signed notes) come from the registry
// and from files (`loupe log verify`). VerifyCheckpoint must refuse or
// accept any note without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/checkpoint.h"
#include "crypto/fuzz/fuzz_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loupe::crypto;
  const std::string_view note(reinterpret_cast<const char*>(data), size);
  auto checkpoint = VerifyCheckpoint(note, "registry.example/loupe",
                                     fuzz::FuzzKey().public_key());
  if (checkpoint.ok()) {
    // Only a note this key signed verifies; its body must say the same.
    if (CheckpointBody(*checkpoint) != note.substr(0, note.find("\n\n") + 1)) {
      __builtin_trap();
    }
  }
  return 0;
}
