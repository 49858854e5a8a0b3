#pragma once

// Internal to the RocksDB store: the open database, its column families and
// helpers every rocks_*.cc file uses (defined in rocks_db.cc).

#include <rocksdb/db.h>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "base/str_cat.h"
#include "server/storage/record.h"
#include "server/storage/store.h"

namespace loupe::storage {

// Owns the database and its column-family handles. Thread-safe (RocksDB is).
struct RocksDb {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* pieces = nullptr;
  rocksdb::ColumnFamilyHandle* versions = nullptr;
  rocksdb::ColumnFamilyHandle* asset_meta = nullptr;
  rocksdb::ColumnFamilyHandle* chunks = nullptr;
  rocksdb::ColumnFamilyHandle* index = nullptr;
  rocksdb::ColumnFamilyHandle* certificates = nullptr;
  rocksdb::ColumnFamilyHandle* log = nullptr;
  // For acknowledged writes: the WAL is synced before Write() returns;
  // concurrent writers are grouped by RocksDB and share one sync.
  rocksdb::WriteOptions durable;
  // Options of the chunks column family, for upload SST files.
  rocksdb::Options chunk_options;
  // Uploads in flight write their SST files here; emptied on open.
  std::string staging_dir;

  ~RocksDb();
};

// Serialises read-check-write sequences on the same key (a piece, a studio
// reference, an asset digest) without a global lock.
class StripedMutex {
 public:
  std::mutex& For(std::string_view key) {
    return stripes_[std::hash<std::string_view>{}(key) % stripes_.size()];
  }

 private:
  std::array<std::mutex, 64> stripes_;
};

// A stored record (record.h); DATA_LOSS naming `what` if corrupt.
template <typename Message>
absl::StatusOr<Message> ParseStored(std::string_view bytes,
                                    std::string_view what) {
  return DecodeRecord<Message>(bytes, what);
}

// Converts a RocksDB failure into an absl::Status naming what was being done.
[[nodiscard]] absl::Status FromRocks(const rocksdb::Status& s,
                                     std::string_view what);

}  // namespace loupe::storage
