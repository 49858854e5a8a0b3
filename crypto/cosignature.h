#pragma once

// Witness cosignatures on checkpoints (C2SP tlog-cosignature, Ed25519
// "cosignature/v1", signature type 0x04) and the body of the C2SP
// tlog-witness add-checkpoint request. A cosignature is one more signed-note
// line on the checkpoint:
//   "\u2014 " name " " base64(key_id(4) || timestamp(8, big-endian) || sig(64))
//   key_id  = SHA-256(name || "\n" || 0x04 || public key)[:4]
//   sig     = Ed25519 over "cosignature/v1\ntime " T "\n" || checkpoint body
// It states that, at time T, this was the largest tree the witness had seen
// for the origin, and consistent with everything it saw before. Everything
// here is pure (no I/O, no clock): the codecs are fuzzable.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "crypto/ed25519.h"
#include "crypto/merkle.h"

namespace loupe::crypto {

// A witness as its verifiers know it: its name and Ed25519 public key.
struct Cosigner {
  std::string name;
  PublicKey public_key{};
};

// A cosignature that verified: who, and the time it states.
struct Cosignature {
  std::string name;
  absl::Time time;
};

// The 4-byte key id of a cosigner (raw bytes).
[[nodiscard]] std::string CosignerKeyId(std::string_view name,
                                        const PublicKey& key);

// The message a cosigner signs over `checkpoint_body` at `timestamp`.
[[nodiscard]] std::string CosignedMessage(std::string_view checkpoint_body,
                                          uint64_t timestamp);

// The signature line (ending in "\n") cosigning `checkpoint_body` (the
// note's text, without the blank line and signatures) at `time`, truncated
// to whole seconds. INVALID_ARGUMENT if `time` is not after 1970 or `name`
// is not a valid key name (C2SP signed-note: non-empty, no spaces or "+").
[[nodiscard]] absl::StatusOr<std::string> CosignCheckpoint(
    std::string_view checkpoint_body, std::string_view name,
    const SigningKey& key, absl::Time time);

// True if `name` may name a note key: non-empty, printable ASCII, without
// spaces or "+".
[[nodiscard]] bool ValidKeyName(std::string_view name);

// A signed note split at its last blank line (C2SP signed-note).
struct NoteSignatureLine {
  std::string name;
  std::string blob;  // Decoded: key id (4 bytes) || signature.
};
struct SignedNote {
  std::string body;  // The text, with its final "\n".
  std::vector<NoteSignatureLine> signatures;
};

// At most this many signature lines in a note (C2SP asks verifiers to
// accept at least 16).
inline constexpr size_t kMaxNoteSignatures = 64;

// INVALID_ARGUMENT naming the problem: no blank line, no signature line, a
// line without the em dash, a name or signature that is malformed (not
// standard base64 of at least 5 bytes), control characters, too many
// signatures.
[[nodiscard]] absl::StatusOr<SignedNote> ParseSignedNote(std::string_view note);

// The line of `signature`: "\u2014 " name " " base64(blob) "\n".
[[nodiscard]] std::string FormatNoteSignature(
    const NoteSignatureLine& signature);

// The Ed25519 note signatures (type 0x01) in `note` under key name `name`
// by any of `keys`, as a witness checks a log's checkpoint (C2SP
// tlog-witness): UNAUTHENTICATED if there is none, or if any line with
// that name and one of the keys' ids does not verify.
[[nodiscard]] absl::StatusOr<std::vector<NoteSignatureLine>> VerifyNoteSigners(
    const SignedNote& note, std::string_view name,
    const std::vector<PublicKey>& keys);

// The cosignatures in `note` by `cosigners` that verify, in note order (a
// cosigner may appear more than once). Lines of other keys (another name or
// key id, e.g. the log's own signature) are ignored. UNAUTHENTICATED naming
// the cosigner if a line with its name and key id does not verify (a wrong
// length, a zero timestamp, a bad signature): a note with a forged line of a
// known key is refused whole. INVALID_ARGUMENT for a malformed note.
[[nodiscard]] absl::StatusOr<std::vector<Cosignature>> VerifyCosignatures(
    std::string_view note, const std::vector<Cosigner>& cosigners);

// The names of `cosignatures`, distinct, in order, joined by ", ".
[[nodiscard]] std::string CosignerNames(
    const std::vector<Cosignature>& cosignatures);

// The body of POST <prefix>/add-checkpoint (C2SP tlog-witness):
//   "old " old_size "\n", one line per proof hash (base64), "\n", checkpoint
inline constexpr size_t kMaxConsistencyProofLines = 63;
struct AddCheckpointRequest {
  uint64_t old_size = 0;
  std::vector<Hash> proof;  // Consistency proof from old_size.
  std::string checkpoint;   // The signed note.
};

[[nodiscard]] std::string EncodeAddCheckpoint(
    const AddCheckpointRequest& request);
// INVALID_ARGUMENT naming the line: the old size line (decimal, no leading
// zeros), a proof line (standard base64 of 32 bytes), more than 63 of them,
// a missing blank line, an empty checkpoint.
[[nodiscard]] absl::StatusOr<AddCheckpointRequest> ParseAddCheckpoint(
    std::string_view body);

// The body of a 409 answer (Content-Type text/x.tlog.size): the size the
// witness last cosigned, in decimal, then "\n".
inline constexpr char kTlogSizeContentType[] = "text/x.tlog.size";
[[nodiscard]] std::string EncodeTlogSize(uint64_t size);
// INVALID_ARGUMENT unless exactly that form.
[[nodiscard]] absl::StatusOr<uint64_t> ParseTlogSize(std::string_view body);

}  // namespace loupe::crypto
