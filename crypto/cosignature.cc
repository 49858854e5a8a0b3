#include "crypto/cosignature.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "crypto/checkpoint.h"
#include "crypto/dsse.h"
#include "crypto/sha256.h"

namespace loupe::crypto {
namespace {

constexpr std::string_view kDash = "\u2014 ";  // Em dash and a space.
constexpr uint8_t kEd25519Type = 0x01;
constexpr uint8_t kCosignatureType = 0x04;
constexpr size_t kBlobSize = 4 + 8 + kSignatureSize;
constexpr uint64_t kMaxTimestamp = (uint64_t{1} << 63) - 1;

// Standard base64 with padding, in its one canonical spelling: what C2SP
// formats use. The decoder also takes URL-safe and unpadded text, so the
// result is re-encoded and compared.
absl::StatusOr<std::string> StrictBase64(std::string_view text) {
  auto bytes = Base64Decode(text);
  if (!bytes.ok() || Base64Encode(*bytes) != text) {
    return absl::InvalidArgumentError("not standard base64");
  }
  return bytes;
}

// Decimal without leading zeros ("0" alone is fine), fitting 64 bits.
bool ParseDecimal(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0'))
    return false;
  uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - digit) / 10) return false;
    n = n * 10 + digit;
  }
  *out = n;
  return true;
}

void PutBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint64_t GetBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string_view Raw(const Hash& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}

// Takes the next "\n"-terminated line off `rest`; false if there is none.
bool NextLine(std::string_view* rest, std::string_view* line) {
  const size_t nl = rest->find('\n');
  if (nl == std::string_view::npos) return false;
  *line = rest->substr(0, nl);
  rest->remove_prefix(nl + 1);
  return true;
}

}  // namespace

bool ValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return c > ' ' && c < 0x7f && c != '+'; });
}

std::string CosignerKeyId(std::string_view name, const PublicKey& key) {
  return NoteKeyId(name, kCosignatureType, key);
}

std::string FormatNoteSignature(const NoteSignatureLine& signature) {
  return StrCat(kDash, signature.name, " ", Base64Encode(signature.blob), "\n");
}

absl::StatusOr<std::vector<NoteSignatureLine>> VerifyNoteSigners(
    const SignedNote& note, std::string_view name,
    const std::vector<PublicKey>& keys) {
  std::vector<NoteSignatureLine> verified;
  for (const auto& key : keys) {
    const std::string id = NoteKeyId(name, kEd25519Type, key);
    for (const auto& line : note.signatures) {
      if (line.name != name || line.blob.substr(0, 4) != id) continue;
      if (line.blob.size() != 4 + kSignatureSize ||
          !VerifySignature(key, note.body,
                           std::string_view(line.blob).substr(4))) {
        return absl::UnauthenticatedError(
            StrCat("checkpoint: a signature of a trusted key of ", name,
                   " does not verify"));
      }
      verified.push_back(line);
    }
  }
  if (verified.empty()) {
    return absl::UnauthenticatedError(
        StrCat("checkpoint: no signature by a trusted key of ", name));
  }
  return verified;
}

std::string CosignedMessage(std::string_view checkpoint_body,
                            uint64_t timestamp) {
  return StrCat("cosignature/v1\ntime ", timestamp, "\n", checkpoint_body);
}

absl::StatusOr<std::string> CosignCheckpoint(std::string_view checkpoint_body,
                                             std::string_view name,
                                             const SigningKey& key,
                                             absl::Time time) {
  if (!ValidKeyName(name)) {
    return absl::InvalidArgumentError(
        StrCat("cosigner name \"", name,
               "\": must be non-empty, without spaces or \"+\""));
  }
  const int64_t seconds = absl::ToUnixSeconds(time);
  if (seconds <= 0) {
    return absl::InvalidArgumentError("cosignature time: must be after 1970");
  }
  const uint64_t timestamp = static_cast<uint64_t>(seconds);
  const Signature sig = key.Sign(CosignedMessage(checkpoint_body, timestamp));
  std::string blob = CosignerKeyId(name, key.public_key());
  PutBigEndian64(&blob, timestamp);
  blob.append(reinterpret_cast<const char*>(sig.data()), sig.size());
  return StrCat(kDash, name, " ", Base64Encode(blob), "\n");
}

absl::StatusOr<SignedNote> ParseSignedNote(std::string_view note) {
  for (char c : note) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') {
      return absl::InvalidArgumentError(
          "note: holds a control character other than newline");
    }
  }
  if (note.empty() || note.back() != '\n') {
    return absl::InvalidArgumentError("note: must end in a newline");
  }
  // The text ends at the last blank line: signature lines are never empty.
  const size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return absl::InvalidArgumentError(
        "note: no blank line between the text and its signatures");
  }
  SignedNote out;
  out.body = std::string(note.substr(0, split + 1));
  std::string_view rest = note.substr(split + 2);
  std::string_view line;
  while (NextLine(&rest, &line)) {
    if (out.signatures.size() == kMaxNoteSignatures) {
      return absl::InvalidArgumentError(
          StrCat("note: more than ", kMaxNoteSignatures, " signatures"));
    }
    if (!line.starts_with(kDash)) {
      return absl::InvalidArgumentError(
          "note: a signature line must start with an em dash and a space");
    }
    line.remove_prefix(kDash.size());
    const size_t space = line.find(' ');
    const std::string_view name = line.substr(0, space);
    if (space == std::string_view::npos || !ValidKeyName(name)) {
      return absl::InvalidArgumentError(
          "note: a signature line must be \"\u2014 <name> <base64>\"");
    }
    auto blob = StrictBase64(line.substr(space + 1));
    if (!blob.ok() || blob->size() < 5) {
      return absl::InvalidArgumentError(StrCat("note: the signature of ", name,
                                               " is not base64 of a key id and "
                                               "a signature"));
    }
    out.signatures.push_back({std::string(name), *std::move(blob)});
  }
  if (out.signatures.empty()) {
    return absl::InvalidArgumentError("note: no signature lines");
  }
  return out;
}

absl::StatusOr<std::vector<Cosignature>> VerifyCosignatures(
    std::string_view note, const std::vector<Cosigner>& cosigners) {
  auto parsed = ParseSignedNote(note);
  if (!parsed.ok()) return parsed.status();
  std::vector<std::string> ids;
  for (const auto& c : cosigners) {
    ids.push_back(CosignerKeyId(c.name, c.public_key));
  }
  std::vector<Cosignature> out;
  for (const auto& line : parsed->signatures) {
    for (size_t i = 0; i < cosigners.size(); ++i) {
      const Cosigner& c = cosigners[i];
      if (line.name != c.name || line.blob.substr(0, 4) != ids[i]) continue;
      const std::string_view blob = line.blob;
      const uint64_t timestamp =
          blob.size() == kBlobSize ? GetBigEndian64(blob.substr(4)) : 0;
      if (timestamp == 0 || timestamp > kMaxTimestamp ||
          !VerifySignature(c.public_key,
                           CosignedMessage(parsed->body, timestamp),
                           blob.substr(12))) {
        return absl::UnauthenticatedError(
            StrCat("cosignature: the line of witness ", c.name,
                   " does not verify (a forged or damaged cosignature)"));
      }
      out.push_back(
          {c.name, absl::FromUnixSeconds(static_cast<int64_t>(timestamp))});
    }
  }
  return out;
}

std::string CosignerNames(const std::vector<Cosignature>& cosignatures) {
  std::vector<std::string> names;
  for (const auto& c : cosignatures) {
    if (std::find(names.begin(), names.end(), c.name) == names.end()) {
      names.push_back(c.name);
    }
  }
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::string EncodeAddCheckpoint(const AddCheckpointRequest& request) {
  std::string out = StrCat("old ", request.old_size, "\n");
  for (const auto& h : request.proof) out += Base64Encode(Raw(h)) + "\n";
  out += "\n";
  out += request.checkpoint;
  return out;
}

absl::StatusOr<AddCheckpointRequest> ParseAddCheckpoint(std::string_view body) {
  AddCheckpointRequest out;
  std::string_view rest = body;
  std::string_view line;
  if (!NextLine(&rest, &line) || !line.starts_with("old ") ||
      !ParseDecimal(line.substr(4), &out.old_size)) {
    return absl::InvalidArgumentError(
        "line 1: must be \"old <size>\" (decimal, no leading zeros)");
  }
  for (size_t n = 2;; ++n) {
    if (!NextLine(&rest, &line)) {
      return absl::InvalidArgumentError(
          StrCat("line ", n, ": no blank line before the checkpoint"));
    }
    if (line.empty()) break;
    if (out.proof.size() == kMaxConsistencyProofLines) {
      return absl::InvalidArgumentError(StrCat("line ", n, ": more than ",
                                               kMaxConsistencyProofLines,
                                               " consistency proof lines"));
    }
    auto hash = StrictBase64(line);
    if (!hash.ok() || hash->size() != Hash().size()) {
      return absl::InvalidArgumentError(StrCat(
          "line ", n, ": a proof line must be standard base64 of 32 bytes"));
    }
    out.proof.push_back(HashFromBytes(*hash));
  }
  if (rest.empty()) {
    return absl::InvalidArgumentError("no checkpoint after the blank line");
  }
  out.checkpoint = std::string(rest);
  return out;
}

std::string EncodeTlogSize(uint64_t size) { return StrCat(size, "\n"); }

absl::StatusOr<uint64_t> ParseTlogSize(std::string_view body) {
  uint64_t size = 0;
  if (body.empty() || body.back() != '\n' ||
      !ParseDecimal(body.substr(0, body.size() - 1), &size)) {
    return absl::InvalidArgumentError(
        "witness size: must be a decimal size and a newline");
  }
  return size;
}

}  // namespace loupe::crypto
