#include "server/storage/keys.h"

#include "base/str_cat.h"

namespace loupe::storage::keys {
namespace {

std::string Join(char tag, std::string_view a, std::string_view b) {
  std::string out;
  out.reserve(2 + a.size() + b.size());
  out.push_back(tag);
  out.append(a);
  out.push_back('\0');
  out.append(b);
  return out;
}

std::string_view Raw(const crypto::Sha256Digest& sha) {
  return {reinterpret_cast<const char*>(sha.data()), sha.size()};
}

}  // namespace

void PutBigEndian32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

void PutBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint32_t GetBigEndian32(std::string_view in) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

uint64_t GetBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string VersionPrefix(std::string_view piece_id) {
  std::string out(piece_id);
  out.push_back('\0');
  return out;
}

std::string Version(std::string_view piece_id, uint32_t number) {
  std::string out = VersionPrefix(piece_id);
  PutBigEndian32(&out, number);
  return out;
}

std::optional<uint32_t> VersionNumber(std::string_view key) {
  if (key.size() < 5 || key[key.size() - 5] != '\0') return std::nullopt;
  return GetBigEndian32(key.substr(key.size() - 4));
}

std::string CertificateById(std::string_view certificate_id) {
  return StrCat("c", certificate_id);
}

std::string Check(std::string_view check_id) { return StrCat("k", check_id); }

std::string Owner(std::string_view piece_id, uint32_t sequence) {
  std::string key = OwnerPrefix(piece_id);
  PutBigEndian32(&key, sequence);
  return key;
}

std::string OwnerPrefix(std::string_view piece_id) {
  std::string key = StrCat("w", piece_id);
  key.push_back('\0');
  return key;
}

std::string LogEntry(uint64_t index) {
  std::string key(1, kLogEntryTag);
  PutBigEndian64(&key, index);
  return key;
}

std::string AssetMeta(const crypto::Sha256Digest& sha) {
  return std::string(Raw(sha));
}

std::string ChunkPrefix(std::string_view content_id) {
  return std::string(content_id);
}

std::string ChunkPrefixEnd(std::string_view content_id) {
  std::string out(content_id);
  PutBigEndian32(&out, 0xffffffffu);
  out.push_back('\xff');
  return out;
}

std::string Chunk(std::string_view content_id, uint32_t index) {
  std::string out(content_id);
  PutBigEndian32(&out, index);
  return out;
}

std::string StudioReference(std::string_view studio,
                            std::string_view reference) {
  return Join('r', studio, reference);
}

std::string StudioPiece(std::string_view studio, std::string_view piece_id) {
  return Join('s', studio, piece_id);
}

std::string StudioPiecePrefix(std::string_view studio) {
  return Join('s', studio, "");
}

std::string AssetOwner(const crypto::Sha256Digest& sha,
                       std::string_view studio) {
  std::string out("o");
  out.append(Raw(sha));
  out.append(studio);
  return out;
}

std::string PieceAsset(std::string_view piece_id,
                       const crypto::Sha256Digest& sha) {
  return Join('p', piece_id, Raw(sha));
}

}  // namespace loupe::storage::keys
