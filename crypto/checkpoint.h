#pragma once

// Transparency-log checkpoints in the C2SP tlog-checkpoint format, signed as
// C2SP signed notes with Ed25519:
//   body      = origin "\n" size "\n" base64(root) "\n"
//   note      = body "\n" then one line per signature:
//               "\u2014 " name " " base64(key_id(4) || signature(64)) "\n"
//   key_id    = first 4 bytes of SHA-256(name || "\n" || 0x01 || public key)
//   signature = Ed25519 over the body.
// Verifiers ignore signatures by keys they do not know.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/ed25519.h"
#include "crypto/merkle.h"

namespace loupe::crypto {

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
};

[[nodiscard]] std::string CheckpointBody(const Checkpoint& checkpoint);

// A C2SP signed-note key id: SHA-256(name || "\n" || type || key)[:4], raw
// bytes (type 0x01 for Ed25519 note signatures, 0x04 for cosignatures).
[[nodiscard]] std::string NoteKeyId(std::string_view name, uint8_t type,
                                    const PublicKey& key);
// Parses a checkpoint body (the note's text). INVALID_ARGUMENT naming the
// line.
[[nodiscard]] absl::StatusOr<Checkpoint> ParseCheckpointBody(
    std::string_view body);

// The signed note of `checkpoint`, signed by `key` under `name`.
[[nodiscard]] std::string SignCheckpoint(const Checkpoint& checkpoint,
                                         std::string_view name,
                                         const SigningKey& key);

// The note verifier key: name "+" hex(key_id) "+" base64(0x01 || key).
[[nodiscard]] std::string NoteVerifierKey(std::string_view name,
                                          const PublicKey& key);

// Parses `note` and checks a signature by (`name`, `key`); `name` is the
// log's origin, and the checkpoint's origin line must equal it.
// INVALID_ARGUMENT naming the line for a malformed note or checkpoint;
// UNAUTHENTICATED if the origin differs or no signature by that key verifies.
[[nodiscard]] absl::StatusOr<Checkpoint> VerifyCheckpoint(std::string_view note,
                                                          std::string_view name,
                                                          const PublicKey& key);

}  // namespace loupe::crypto
