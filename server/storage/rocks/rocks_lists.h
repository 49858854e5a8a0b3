#pragma once

// Internal to the RocksDB store: piece reads and listings.

#include <string_view>

#include "absl/status/statusor.h"
#include "server/storage/rocks/rocks_db.h"
#include "server/storage/store.h"

namespace loupe::storage {

// NOT_FOUND naming piece_id if absent.
[[nodiscard]] absl::StatusOr<v1::Piece> ReadPiece(RocksDb& db,
                                                  std::string_view piece_id);
// Pieces in id order after `start_after`, of one studio or of all.
[[nodiscard]] absl::StatusOr<PiecePage> ListAllPieces(
    RocksDb& db, std::string_view start_after, size_t limit);
[[nodiscard]] absl::StatusOr<PiecePage> ListStudioPieces(
    RocksDb& db, std::string_view studio_id, std::string_view start_after,
    size_t limit);

}  // namespace loupe::storage
