// Listings of pieces, for the RocksDB store.
#include <memory>

#include "server/storage/keys.h"
#include "server/storage/rocks_db.h"

namespace loupe::storage {

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
    auto p = ParseStored<v1::Piece>(it->value().ToString(), "piece");
    if (!p.ok()) return p.status();
    page.pieces.push_back(*std::move(p));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing pieces");
  return page;
}

absl::StatusOr<PiecePage> ListStudioPieces(Store& store, RocksDb& db,
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
    auto p = store.GetPiece(it->key().ToStringView().substr(prefix.size()));
    if (!p.ok()) return p.status();
    page.pieces.push_back(*std::move(p));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing pieces");
  return page;
}

}  // namespace loupe::storage
