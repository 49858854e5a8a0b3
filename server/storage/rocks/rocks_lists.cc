// Listings of pieces, for the RocksDB store.
#include "server/storage/rocks/rocks_lists.h"

#include <memory>

#include "server/storage/keys.h"

namespace loupe::storage {

absl::StatusOr<v1::Piece> ReadPiece(RocksDb& db, std::string_view piece_id) {
  std::string value;
  auto s = db.db->Get(rocksdb::ReadOptions(), db.pieces,
                      rocksdb::Slice(piece_id.data(), piece_id.size()), &value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(StrCat("piece_id: no piece ", piece_id));
  }
  if (!s.ok()) return FromRocks(s, "reading piece");
  return ParseStored<v1::Piece>(value, "piece");
}

absl::StatusOr<PiecePage> ListAllPieces(RocksDb& db,
                                        std::string_view start_after,
                                        size_t limit) {
  PiecePage page;
  std::unique_ptr<rocksdb::Iterator> it(
      db.db->NewIterator(rocksdb::ReadOptions(), db.pieces));
  const rocksdb::Slice start(start_after.data(), start_after.size());
  it->Seek(start);
  if (it->Valid() && it->key() == start) it->Next();
  for (; it->Valid(); it->Next()) {
    if (page.pieces.size() == limit) {
      page.last_key = page.pieces.back().id();
      break;
    }
    auto p = ParseStored<v1::Piece>(it->value().ToStringView(), "piece");
    if (!p.ok()) return p.status();
    page.pieces.push_back(*std::move(p));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing pieces");
  return page;
}

absl::StatusOr<PiecePage> ListStudioPieces(RocksDb& db,
                                           std::string_view studio_id,
                                           std::string_view start_after,
                                           size_t limit) {
  PiecePage page;
  const std::string prefix = keys::StudioPiecePrefix(studio_id);
  std::unique_ptr<rocksdb::Iterator> it(
      db.db->NewIterator(rocksdb::ReadOptions(), db.index));
  const std::string start = keys::StudioPiece(studio_id, start_after);
  it->Seek(start);
  if (!start_after.empty() && it->Valid() && it->key() == start) it->Next();
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (page.pieces.size() == limit) {
      page.last_key = page.pieces.back().id();
      break;
    }
    auto p = ReadPiece(db, it->key().ToStringView().substr(prefix.size()));
    if (!p.ok()) return p.status();
    page.pieces.push_back(*std::move(p));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing pieces");
  return page;
}

}  // namespace loupe::storage
