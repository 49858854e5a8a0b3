#include "server/storage/postgres/pg_admin.h"

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "base/str_cat.h"
#include "server/storage/keys.h"
#include "server/storage/postgres/pg_assets.h"
#include "server/storage/postgres/pg_log.h"
#include "server/storage/postgres/pg_schema.h"
#include "server/storage/record.h"

namespace loupe::storage::pg {
namespace {

using Snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;
constexpr char kBackupFile[] = "postgres-backup.bin";
constexpr char kMagic[] = "LOUPE-POSTGRES-BACKUP 1\n";
constexpr size_t kHashSize = 32;

// Every row of `sql`, `page` at a time through a cursor (bounded memory).
template <typename Visit>
void ForEachRow(pqxx::transaction_base& txn, const std::string& sql,
                size_t page, Visit visit) {
  static std::atomic<int> cursors{0};
  const std::string cursor = StrCat("loupe_rows_", cursors++);
  txn.exec(StrCat("DECLARE ", cursor, " NO SCROLL CURSOR FOR ", sql));
  for (;;) {
    const auto r = txn.exec(StrCat("FETCH ", page, " FROM ", cursor));
    for (const auto& row : r) visit(row);
    if (r.size() < page) break;
  }
  txn.exec(StrCat("CLOSE ", cursor));
}

void ScrubAsset(Snapshot& txn, const std::string& sha,
                const std::string& content, uint64_t size, uint64_t chunks,
                ScrubReport* report) {
  {
    ++report->assets;
    if (content == kExternalContentId) {
      ScrubReport::ExternalAsset external;
      std::memcpy(external.sha256.data(), sha.data(),
                  std::min(sha.size(), external.sha256.size()));
      external.size = size;
      report->external_assets.push_back(external);
      return;
    }
    report->asset_bytes += size;
    const std::string name = StrCat("asset ", crypto::ToHex(sha));
    crypto::Sha256 whole;
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < chunks; ++i) {
      const auto r = txn.exec_params(
          "SELECT digest, bytes FROM asset_chunks WHERE content_id = $1 AND "
          "chunk_index = $2",
          Bytes(content), static_cast<int64_t>(i));
      if (r.empty()) {
        report->problems.push_back(
            StrCat(name, ": chunk ", i, " of ", chunks, " is missing"));
        continue;
      }
      const std::string chunk = FieldBytes(r[0][1]);
      whole.Update(chunk);
      bytes += chunk.size();
      if (crypto::ToHex(crypto::Sha256::Of(chunk)) !=
          crypto::ToHex(FieldBytes(r[0][0]))) {
        report->problems.push_back(StrCat(name, ": chunk ", i, " of ", chunks,
                                          " fails its stored digest"));
      }
    }
    if (bytes != size || crypto::ToHex(whole.Finish()) != crypto::ToHex(sha)) {
      report->problems.push_back(StrCat(name, ": the bytes fail its SHA-256"));
    }
  }
}

// The root of leaves appended one by one: complete subtrees, largest first.
class CompactRange {
 public:
  void Append(const crypto::Hash& leaf) {
    nodes_.push_back({leaf, 1});
    while (nodes_.size() > 1 &&
           nodes_[nodes_.size() - 2].second == nodes_.back().second) {
      auto right = nodes_.back();
      nodes_.pop_back();
      nodes_.back() = {crypto::NodeHash(nodes_.back().first, right.first),
                       right.second * 2};
    }
  }
  [[nodiscard]] crypto::Hash Root() const {
    if (nodes_.empty()) return crypto::EmptyTreeHash();
    crypto::Hash root = nodes_.back().first;
    for (size_t i = nodes_.size() - 1; i-- > 0;) {
      root = crypto::NodeHash(nodes_[i].first, root);
    }
    return root;
  }

 private:
  std::vector<std::pair<crypto::Hash, uint64_t>> nodes_;
};

std::string TileBytes(Snapshot& txn, int level, uint64_t index) {
  const auto r = txn.exec_params(
      "SELECT hashes FROM log_tiles WHERE tile_level = $1 AND tile_index = $2",
      level, static_cast<int64_t>(index));
  return r.empty() ? std::string() : FieldBytes(r[0][0]);
}

void ScrubAssets(Snapshot& txn, ScrubReport* report) {
  ForEachRow(txn,
             "SELECT sha256, content_id, size_bytes, chunk_count FROM assets "
             "ORDER BY sha256",
             64, [&](const pqxx::row& row) {
               ScrubAsset(txn, FieldBytes(row[0]), FieldBytes(row[1]),
                          row[2].as<int64_t>(), row[3].as<int64_t>(), report);
             });
}

void ScrubLog(Snapshot& txn, ScrubReport* report) {
  const uint64_t size =
      txn.exec("SELECT next_index FROM log_coordinator WHERE id = 0")[0][0]
          .as<int64_t>();
  auto checkpoint = ReadCheckpoint(txn);
  if (!checkpoint.ok()) {
    report->problems.push_back(std::string(checkpoint.status().message()));
    checkpoint = std::nullopt;
  }
  CompactRange range;
  std::optional<crypto::Hash> root_at_checkpoint;
  std::string tile;
  uint64_t next = 0;
  auto leaf = [&](uint64_t i) -> std::optional<crypto::Hash> {
    if (i % kTileWidth == 0) tile = TileBytes(txn, 0, i / kTileWidth);
    const size_t at = (i % kTileWidth) * kHashSize;
    if (tile.size() < at + kHashSize) return std::nullopt;
    return HashAt(std::string_view(tile).substr(at));
  };
  auto add = [&](uint64_t i, const std::string* entry) {
    const auto stored = leaf(i);
    if (!stored) {
      report->problems.push_back(
          StrCat("log entry ", i, ": its leaf hash is missing from the tiles"));
      return;
    }
    if (entry == nullptr) {
      report->problems.push_back(StrCat("log entry ", i, " is missing"));
    } else if (crypto::LeafHash(*entry) != *stored) {
      report->problems.push_back(
          StrCat("log entry ", i,
                 ": its bytes no longer match its leaf hash (rewritten in "
                 "storage)"));
    }
    range.Append(*stored);
    if (*checkpoint && (*checkpoint)->size == i + 1) {
      root_at_checkpoint = range.Root();
    }
  };
  ForEachRow(txn,
             StrCat("SELECT entry_index, entry FROM log_entries WHERE "
                    "entry_index < ",
                    size, " ORDER BY entry_index"),
             1024, [&](const pqxx::row& row) {
               const uint64_t i = row[0].as<int64_t>();
               for (; next < i; ++next) add(next, nullptr);
               const std::string entry = FieldBytes(row[1]);
               add(next++, &entry);
             });
  for (; next < size; ++next) add(next, nullptr);
  report->log_entries = size;
  // Each full tile's root is the hash one tile level up.
  for (int level = 0; (size >> (8 * (level + 1))) > 0; ++level) {
    const uint64_t full = size >> (8 * (level + 1));
    std::string parent;
    for (uint64_t t = 0; t < full; ++t) {
      if (t % kTileWidth == 0)
        parent = TileBytes(txn, level + 1, t / kTileWidth);
      const std::string child = TileBytes(txn, level, t);
      std::vector<crypto::Hash> hashes;
      for (size_t at = 0; at + kHashSize <= child.size(); at += kHashSize) {
        hashes.push_back(HashAt(std::string_view(child).substr(at)));
      }
      const size_t at = (t % kTileWidth) * kHashSize;
      if (hashes.size() != kTileWidth || parent.size() < at + kHashSize ||
          crypto::SubtreeRoot(hashes, 0, kTileWidth) !=
              HashAt(std::string_view(parent).substr(at))) {
        report->problems.push_back(StrCat("log tile ", level, "/", t,
                                          ": its root differs from the hash "
                                          "stored a level up"));
      }
    }
  }
  if (!*checkpoint) return;
  const auto& published = **checkpoint;
  report->checkpoint_size = published.size;
  if (published.size > size) {
    report->problems.push_back(StrCat("log: a checkpoint of ", published.size,
                                      " entries was signed but storage holds ",
                                      size));
  } else if ((published.size == 0 ? crypto::EmptyTreeHash()
                                  : root_at_checkpoint.value_or(
                                        crypto::Hash{})) != published.root) {
    report->problems.push_back(
        StrCat("log: the root of the first ", published.size,
               " stored entries differs from the signed checkpoint's"));
  }
}

void ScrubPiece(Snapshot& txn, const std::string& id, const std::string& raw,
                ScrubReport* report) {
  ++report->pieces;
  const std::string name = StrCat("piece ", id);
  auto piece = DecodeRecord<v1::Piece>(raw, "piece");
  if (!piece.ok() || piece->id() != id) {
    report->problems.push_back(StrCat(name, " is not readable"));
    return;
  }
  const auto versions = txn.exec_params(
      "SELECT version_number, record FROM versions WHERE piece_id = $1 ORDER "
      "BY version_number",
      Bytes(id));
  uint32_t number = 0;
  for (const auto& row : versions) {
    ++report->versions;
    ++number;
    auto v = DecodeRecord<v1::TwinVersion>(FieldBytes(row[1]), "version");
    if (!v.ok()) {
      report->problems.push_back(
          StrCat(name, ": version ", number, " is not readable"));
      continue;
    }
    if (v->piece_id() != id || v->number() != number ||
        row[0].as<int64_t>() != number || v->parent_number() >= v->number()) {
      report->problems.push_back(StrCat(
          name, ": version ", number, " says it is version ", v->number(),
          " of ", v->piece_id(), " with parent ", v->parent_number()));
    }
    for (const auto& asset : v->assets()) {
      auto sha = crypto::ParseSha256Hex(asset.sha256());
      const bool stored =
          sha.ok() &&
          !txn.exec_params("SELECT 1 FROM assets WHERE sha256 = $1",
                           Bytes(std::string_view(
                               reinterpret_cast<const char*>(sha->data()), 32)))
               .empty();
      if (!stored) {
        report->problems.push_back(StrCat(name, ": version ", number,
                                          ": asset ", asset.sha256(),
                                          " is not stored"));
      }
    }
  }
  if (number != piece->current_version()) {
    report->problems.push_back(StrCat(name, ": current version is ",
                                      piece->current_version(), " but ", number,
                                      " are stored"));
  }
}

void ScrubRecords(Snapshot& txn, ScrubReport* report) {
  // Other statements may run between a cursor's fetches.
  ForEachRow(txn, "SELECT piece_id, record FROM pieces ORDER BY piece_id", 256,
             [&](const pqxx::row& row) {
               ScrubPiece(txn, FieldBytes(row[0]), FieldBytes(row[1]), report);
             });
  ForEachRow(
      txn,
      "SELECT piece_id, version_number, certificate_id, record FROM "
      "certificates ORDER BY piece_id, version_number",
      1024, [&](const pqxx::row& row) {
        ++report->certificates;
        auto c =
            DecodeRecord<v1::Certificate>(FieldBytes(row[3]), "certificate");
        if (!c.ok()) {
          report->problems.push_back("a certificate is not readable");
          return;
        }
        if (c->id() != FieldBytes(row[2]) ||
            c->piece_id() != FieldBytes(row[0]) ||
            c->version() != static_cast<uint32_t>(row[1].as<int64_t>())) {
          report->problems.push_back(
              StrCat("certificate ", c->id(), ": its index entry is wrong"));
        }
      });
}

// The backup's tables, in an order that restores cleanly, and what of each
// is copied.
struct BackupTable {
  const char* name;
  const char* columns;
  const char* from;  // FROM clause (and filter).
};
constexpr BackupTable kTables[] = {
    {"pieces", "piece_id, studio_id, studio_reference, record", "pieces"},
    {"versions", "piece_id, version_number, record", "versions"},
    {"piece_assets", "piece_id, sha256", "piece_assets"},
    {"certificates", "piece_id, version_number, certificate_id, record",
     "certificates"},
    {"owners", "piece_id, owner_sequence, record", "owners"},
    {"assets", "sha256, content_id, size_bytes, chunk_count", "assets"},
    {"asset_chunks", "content_id, chunk_index, digest, bytes",
     "asset_chunks WHERE content_id IN (SELECT content_id FROM assets)"},
    {"asset_uploaders", "sha256, studio_id", "asset_uploaders"},
    {"log_coordinator", "id, next_index", "log_coordinator"},
    {"log_entries", "entry_index, entry", "log_entries"},
    {"log_tiles", "tile_level, tile_index, hashes", "log_tiles"},
    {"log_checkpoint", "id, tree_size, root, note", "log_checkpoint"},
    {"checks", "check_id, piece_id, record", "checks"},
};

size_t ColumnCount(const char* columns) {
  return std::count(columns, columns + std::strlen(columns), ',') + 1;
}

void PutString(std::ostream& out, std::string_view s) {
  std::string size;
  keys::PutBigEndian64(&size, s.size());
  out << size << s;
}

bool GetString(std::istream& in, std::string* s) {
  char size[8];
  if (!in.read(size, 8)) return false;
  const uint64_t n = keys::GetBigEndian64(std::string_view(size, 8));
  if (n > (64u << 20)) return false;
  s->resize(n);
  return static_cast<bool>(in.read(s->data(), static_cast<std::streamsize>(n)));
}

}  // namespace

absl::StatusOr<ScrubReport> ScrubPostgres(ConnectionPool& pool) {
  auto lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  try {
    Snapshot txn(**lease);
    ScrubReport report;
    ScrubAssets(txn, &report);
    ScrubLog(txn, &report);
    ScrubRecords(txn, &report);
    return report;
  } catch (const std::exception& e) {
    return FromException(e, "scrubbing the store");
  }
}

absl::Status BackupPostgres(ConnectionPool& pool,
                            const std::string& directory) {
  const auto path = std::filesystem::path(directory) / kBackupFile;
  auto lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError(StrCat("cannot write ", path.string()));
  try {
    Snapshot txn(**lease);
    out << kMagic;
    PutString(out, std::to_string(LatestSchemaVersion()));
    for (const BackupTable& table : kTables) {
      PutString(out, table.name);
      const size_t columns = ColumnCount(table.columns);
      // Columns as text: BYTEA as \x hex, integers as digits.
      const std::string select = StrCat("SELECT * FROM (SELECT ", table.columns,
                                        " FROM ", table.from, ") AS t");
      ForEachRow(txn, select, 16, [&](const pqxx::row& row) {
        PutString(out, "r");
        for (size_t i = 0; i < columns; ++i)
          PutString(out, row[static_cast<int>(i)].c_str());
      });
      PutString(out, "e");
    }
    PutString(out, "end");
  } catch (const std::exception& e) {
    return FromException(e, "backing up the store");
  }
  out.close();
  if (!out) return absl::InternalError(StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

absl::Status RestorePostgres(ConnectionPool& pool,
                             const std::string& backup_dir) {
  const auto path = std::filesystem::path(backup_dir) / kBackupFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(StrCat("backup: ", backup_dir,
                                      " holds no PostgreSQL backup (no ",
                                      kBackupFile, ")"));
  }
  const auto damaged =
      absl::DataLossError(StrCat(path.string(), " is damaged"));
  std::string magic(sizeof(kMagic) - 1, '\0');
  std::string version;
  if (!in.read(magic.data(), static_cast<std::streamsize>(magic.size())) ||
      magic != kMagic || !GetString(in, &version)) {
    return damaged;
  }
  if (version != std::to_string(LatestSchemaVersion())) {
    return absl::FailedPreconditionError(
        StrCat("backup: made with schema version ", version,
               ", this "
               "loupe-server restores version ",
               LatestSchemaVersion()));
  }
  return RunSerializable(pool, "restoring a backup", [&](SerializableTxn& txn) {
    in.clear();
    in.seekg(static_cast<std::streamoff>(magic.size()));
    std::string skip, tag, field;
    GetString(in, &skip);
    const auto held = txn.exec(
        "SELECT (SELECT next_index FROM log_coordinator WHERE id = 0) > 0 OR "
        "EXISTS (SELECT 1 FROM pieces) OR EXISTS (SELECT 1 FROM assets)");
    if (held[0][0].as<bool>()) {
      return absl::AlreadyExistsError(
          "storage: the database already holds a registry; restore into an "
          "empty one");
    }
    txn.exec("DELETE FROM log_coordinator");
    for (const BackupTable& table : kTables) {
      if (!GetString(in, &tag) || tag != table.name) return damaged;
      const size_t columns = ColumnCount(table.columns);
      std::string insert =
          StrCat("INSERT INTO ", table.name, " (", table.columns, ") VALUES (");
      for (size_t i = 0; i < columns; ++i) {
        insert += StrCat(i > 0 ? ", $" : "$", i + 1);
      }
      insert += ")";
      for (;;) {
        if (!GetString(in, &tag)) return damaged;
        if (tag == "e") break;
        if (tag != "r") return damaged;
        std::vector<std::string> values(columns);
        for (auto& v : values) {
          if (!GetString(in, &v)) return damaged;
        }
        switch (columns) {
          case 2:
            txn.exec_params(insert, values[0], values[1]);
            break;
          case 3:
            txn.exec_params(insert, values[0], values[1], values[2]);
            break;
          case 4:
            txn.exec_params(insert, values[0], values[1], values[2], values[3]);
            break;
          default:
            return damaged;
        }
      }
    }
    if (!GetString(in, &tag) || tag != "end") return damaged;
    return absl::OkStatus();
  });
}

}  // namespace loupe::storage::pg
