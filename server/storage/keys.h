#pragma once

// Key formats of the key-value engines (RocksDB, memory). Documented in
// docs/architecture.md; changing any of them is a storage format change.
//
// Column families and keys:
//   pieces        <piece_id>                              -> Piece
//   versions      <piece_id> 0x00 <u32 number, BE>        -> TwinVersion
//   asset_meta    <sha256, 32 raw bytes>                  -> AssetRecord
//   asset_chunks  <content_id, 16 raw> <u32 index, BE>    -> up to 1 MiB
//   certificates  <piece_id> 0x00 <u32 version, BE>       -> Certificate
//   index         'r' <studio> 0x00 <studio_reference>    -> piece_id
//                 's' <studio> 0x00 <piece_id>            -> ""
//                 'o' <sha256 raw> <studio>               -> ""  (uploader)
//                 'p' <piece_id> 0x00 <sha256 raw>        -> ""  (referenced)
//                 'c' <certificate_id>                    -> certificates key
//                 'w' <piece_id> 0x00 <u32 sequence, BE>  -> OwnerRecord
//                 'k' <check_id>                          -> GeometryCheck
//   log           'e' <u64 index, BE>   -> leaf hash (32 bytes) || entry
//                 'c'                   -> newest checkpoint: <u64 size, BE>
//                                          <root, 32 bytes> <signed note>
// Ids, studio ids and references never contain 0x00 (validated on input),
// so the separators keep prefixes unambiguous.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/sha256.h"

namespace loupe::storage::keys {

inline constexpr size_t kContentIdSize = 16;

[[nodiscard]] std::string Version(std::string_view piece_id, uint32_t number);
[[nodiscard]] std::string VersionPrefix(std::string_view piece_id);
// The number from a versions key; nullopt if malformed.
[[nodiscard]] std::optional<uint32_t> VersionNumber(std::string_view key);

[[nodiscard]] std::string CertificateById(std::string_view certificate_id);
[[nodiscard]] std::string Owner(std::string_view piece_id, uint32_t sequence);
[[nodiscard]] std::string OwnerPrefix(std::string_view piece_id);
// A recorded geometry check (index family).
[[nodiscard]] std::string Check(std::string_view check_id);

[[nodiscard]] std::string LogEntry(uint64_t index);
inline constexpr char kLogEntryTag = 'e';
inline constexpr char kLogCheckpoint[] = "c";

[[nodiscard]] std::string AssetMeta(const crypto::Sha256Digest& sha);
[[nodiscard]] std::string Chunk(std::string_view content_id, uint32_t index);
// [ChunkPrefix(c), ChunkPrefixEnd(c)) covers every chunk of content c.
[[nodiscard]] std::string ChunkPrefix(std::string_view content_id);
[[nodiscard]] std::string ChunkPrefixEnd(std::string_view content_id);

[[nodiscard]] std::string StudioReference(std::string_view studio,
                                          std::string_view reference);
[[nodiscard]] std::string StudioPiece(std::string_view studio,
                                      std::string_view piece_id);
[[nodiscard]] std::string StudioPiecePrefix(std::string_view studio);
[[nodiscard]] std::string AssetOwner(const crypto::Sha256Digest& sha,
                                     std::string_view studio);
[[nodiscard]] std::string PieceAsset(std::string_view piece_id,
                                     const crypto::Sha256Digest& sha);

// Big-endian fixed-width integers, so that keys sort numerically.
void PutBigEndian32(std::string* out, uint32_t v);
void PutBigEndian64(std::string* out, uint64_t v);
[[nodiscard]] uint32_t GetBigEndian32(std::string_view in);
[[nodiscard]] uint64_t GetBigEndian64(std::string_view in);

}  // namespace loupe::storage::keys
