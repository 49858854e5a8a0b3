#include "crypto/checkpoint.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "base/str_cat.h"
#include "crypto/dsse.h"

namespace loupe::crypto {
namespace {

constexpr std::string_view kDash = "\u2014 ";  // Em dash and a space.
constexpr uint8_t kEd25519Type = 0x01;

std::string_view Raw(const Hash& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}

absl::StatusOr<Checkpoint> ParseBody(std::string_view body) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (size_t nl; (nl = body.find('\n', start)) != std::string_view::npos;
       start = nl + 1) {
    lines.push_back(body.substr(start, nl - start));
  }
  if (lines.size() < 3) {
    return absl::InvalidArgumentError(
        "checkpoint: needs origin, size and root lines");
  }
  Checkpoint c;
  c.origin = std::string(lines[0]);
  if (c.origin.empty())
    return absl::InvalidArgumentError("checkpoint line 1: empty origin");
  const std::string size(lines[1]);
  if (size.empty() || (size.size() > 1 && size[0] == '0') ||
      size.find_first_not_of("0123456789") != std::string::npos ||
      !absl::SimpleAtoi(size, &c.size)) {
    return absl::InvalidArgumentError(
        "checkpoint line 2: size must be decimal without leading zeros");
  }
  auto root = Base64Decode(lines[2]);
  if (!root.ok() || root->size() != c.root.size() ||
      lines[2].find_first_of("-_") != std::string_view::npos) {
    return absl::InvalidArgumentError(
        "checkpoint line 3: root must be standard base64 of 32 bytes");
  }
  std::memcpy(c.root.data(), root->data(), c.root.size());
  return c;
}

}  // namespace

std::string NoteKeyId(std::string_view name, uint8_t type,
                      const PublicKey& key) {
  Sha256 h;
  h.Update(name);
  h.Update("\n");
  h.Update(&type, 1);
  h.Update(key.data(), key.size());
  const Sha256Digest digest = h.Finish();
  return std::string(reinterpret_cast<const char*>(digest.data()), 4);
}

std::string CheckpointBody(const Checkpoint& c) {
  return StrCat(c.origin, "\n", c.size, "\n", Base64Encode(Raw(c.root)), "\n");
}

absl::StatusOr<Checkpoint> ParseCheckpointBody(std::string_view body) {
  return ParseBody(body);
}

std::string SignCheckpoint(const Checkpoint& checkpoint, std::string_view name,
                           const SigningKey& key) {
  const std::string body = CheckpointBody(checkpoint);
  const Signature sig = key.Sign(body);
  const std::string blob =
      NoteKeyId(name, kEd25519Type, key.public_key()) +
      std::string(reinterpret_cast<const char*>(sig.data()), sig.size());
  return StrCat(body, "\n", kDash, name, " ", Base64Encode(blob), "\n");
}

std::string NoteVerifierKey(std::string_view name, const PublicKey& key) {
  const std::string id = NoteKeyId(name, kEd25519Type, key);
  std::string typed(1, static_cast<char>(kEd25519Type));
  typed.append(reinterpret_cast<const char*>(key.data()), key.size());
  return StrCat(name, "+",
                ToHex(reinterpret_cast<const uint8_t*>(id.data()), id.size()),
                "+", Base64Encode(typed));
}

absl::StatusOr<Checkpoint> VerifyCheckpoint(std::string_view note,
                                            std::string_view name,
                                            const PublicKey& key) {
  const size_t split = note.find("\n\n");
  if (split == std::string_view::npos) {
    return absl::InvalidArgumentError(
        "note: no blank line between the text and its signatures");
  }
  const std::string_view body = note.substr(0, split + 1);
  auto checkpoint = ParseBody(body);
  if (!checkpoint.ok()) return checkpoint.status();
  // A signature binds the body, not the log it speaks for: a checkpoint of
  // another log signed under the same name must not pass for this one.
  if (checkpoint->origin != name) {
    return absl::UnauthenticatedError(StrCat("checkpoint: of the log \"",
                                             checkpoint->origin, "\", not \"",
                                             name, "\""));
  }
  const std::string want_id = NoteKeyId(name, kEd25519Type, key);
  std::string_view rest = note.substr(split + 2);
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      return absl::InvalidArgumentError("note: signature line without newline");
    }
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (line.substr(0, kDash.size()) != kDash) {
      return absl::InvalidArgumentError(
          "note: a signature line must start with "
          "an em dash");
    }
    line.remove_prefix(kDash.size());
    const size_t space = line.rfind(' ');
    if (space == std::string_view::npos) {
      return absl::InvalidArgumentError("note: malformed signature line");
    }
    if (line.substr(0, space) != name) continue;  // Another key's.
    auto blob = Base64Decode(line.substr(space + 1));
    if (!blob.ok() || blob->size() != 4 + kSignatureSize) continue;
    if (blob->substr(0, 4) != want_id) continue;
    if (VerifySignature(key, body, std::string_view(*blob).substr(4))) {
      return checkpoint;
    }
  }
  return absl::UnauthenticatedError(
      StrCat("checkpoint: no valid signature by ", name));
}

}  // namespace loupe::crypto
