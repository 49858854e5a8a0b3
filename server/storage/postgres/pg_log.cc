#include "server/storage/postgres/pg_log.h"

#include <algorithm>
#include <bit>

#include "base/str_cat.h"

namespace loupe::storage::pg {
namespace {

constexpr size_t kHashSize = 32;
constexpr size_t kMaxCachedTiles = 4096;  // About 64 MiB at most.

// A stored tile that is missing or shorter than the log says it is.
struct DamagedTile : std::runtime_error {
  using std::runtime_error::runtime_error;
};

uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

// Runs `fn`, turning exceptions into statuses.
template <typename Fn>
auto Guard(std::string_view doing, Fn fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const DamagedTile& e) {
    return absl::DataLossError(StrCat("transparency log: ", e.what()));
  } catch (const std::exception& e) {
    return FromException(e, doing);
  }
}

std::vector<crypto::Hash> SplitHashes(std::string_view bytes) {
  std::vector<crypto::Hash> out;
  out.reserve(bytes.size() / kHashSize);
  for (size_t at = 0; at + kHashSize <= bytes.size(); at += kHashSize) {
    out.push_back(HashAt(bytes.substr(at)));
  }
  return out;
}

std::string TileRow(int level, uint64_t index, const std::string& hashes) {
  return SqlScript::Row({SqlScript::Int(level),
                         SqlScript::Int(static_cast<int64_t>(index)),
                         SqlScript::Bytea(hashes)});
}

// The stored partial tiles an append of entries [base, end) extends: at
// each level the tile holding subtree base / 256^level, if that subtree
// does not start a tile. One round trip; keyed by level.
std::map<int, std::string> ReadPartialTiles(pqxx::transaction_base& txn,
                                            uint64_t base, uint64_t end) {
  std::string where;
  for (int level = 0; (end >> (8 * level)) > 0 && level < 8; ++level) {
    const uint64_t first = base >> (8 * level);
    if (first % kTileWidth == 0) continue;
    if (!where.empty()) where += " OR ";
    where += StrCat("(tile_level = ", level,
                    " AND tile_index = ", first / kTileWidth, ")");
  }
  std::map<int, std::string> out;
  if (where.empty()) return out;
  const auto r = txn.exec(
      StrCat("SELECT tile_level, hashes FROM log_tiles WHERE ", where));
  for (const auto& row : r) out[row[0].as<int>()] = FieldBytes(row[1]);
  return out;
}

}  // namespace

absl::StatusOr<uint64_t> TileTree::Refresh() {
  uint64_t committed = 0;
  absl::Status s =
      RunRead(*pool_, "reading the log's size", [&](pqxx::nontransaction& txn) {
        committed = txn.exec(
                           "SELECT next_index FROM "
                           "log_coordinator WHERE id = 0")[0][0]
                        .as<int64_t>();
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  Grew(committed);
  return size();
}

void TileTree::Grew(uint64_t size) {
  uint64_t known = size_.load();
  while (known < size && !size_.compare_exchange_weak(known, size)) {
  }
}

absl::Status TileTree::Check(uint64_t size, std::string_view field) {
  if (size <= size_.load()) return absl::OkStatus();
  auto refreshed = Refresh();
  if (!refreshed.ok()) return refreshed.status();
  if (size <= *refreshed) return absl::OkStatus();
  return absl::InvalidArgumentError(StrCat(
      field, ": ", size, " is beyond the log's ", *refreshed, " entries"));
}

std::shared_ptr<const TileTree::Tile> TileTree::GetTile(int tile_level,
                                                        uint64_t tile_index,
                                                        uint64_t min_width) {
  const auto key = std::make_pair(tile_level, tile_index);
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second->width() >= min_width) {
      return it->second;
    }
  }
  std::string bytes;
  {
    auto lease = pool_->Acquire();
    if (!lease.ok()) throw pqxx::broken_connection(lease.status().ToString());
    pqxx::nontransaction txn(**lease);
    const auto r = txn.exec_params(
        "SELECT hashes FROM log_tiles WHERE tile_level = $1 AND tile_index = "
        "$2",
        tile_level, static_cast<int64_t>(tile_index));
    if (!r.empty()) bytes = FieldBytes(r[0][0]);
  }
  if (bytes.size() % kHashSize != 0 || bytes.size() / kHashSize < min_width ||
      bytes.size() / kHashSize > kTileWidth) {
    throw DamagedTile(StrCat("tile ", tile_level, "/", tile_index, " holds ",
                             bytes.size(), " bytes; ", min_width,
                             " hashes are committed"));
  }
  auto tile = std::make_shared<Tile>();
  tile->levels.push_back(SplitHashes(bytes));
  for (size_t r = 1; r <= 8; ++r) {
    const auto& below = tile->levels[r - 1];
    std::vector<crypto::Hash> level;
    for (size_t j = 0; j + 1 < below.size(); j += 2) {
      level.push_back(crypto::NodeHash(below[j], below[j + 1]));
    }
    tile->levels.push_back(std::move(level));
  }
  std::lock_guard lock(mu_);
  if (cache_.size() >= kMaxCachedTiles) cache_.clear();
  cache_[key] = tile;
  return tile;
}

crypto::Hash TileTree::Node(int level, uint64_t index) {
  const int tile_level = level / 8;
  const int r = level % 8;
  const uint64_t first = index << r;  // At tree level 8 * tile_level.
  const uint64_t tile_index = first / kTileWidth;
  const uint64_t end_in_tile =
      first + (uint64_t{1} << r) - tile_index * kTileWidth;
  auto tile = GetTile(tile_level, tile_index, end_in_tile);
  return tile->levels[r][index - (tile_index << (8 - r))];
}

crypto::Hash TileTree::Subtree(uint64_t begin, uint64_t end) {
  const uint64_t n = end - begin;
  if (n == 0) return crypto::EmptyTreeHash();
  if (std::has_single_bit(n) && begin % n == 0) {
    const int k = std::countr_zero(n);
    return Node(k, begin >> k);
  }
  const uint64_t split = SplitPoint(n);
  return crypto::NodeHash(Subtree(begin, begin + split),
                          Subtree(begin + split, end));
}

absl::StatusOr<crypto::Hash> TileTree::Root(uint64_t size) {
  if (auto s = Check(size, "tree_size"); !s.ok()) return s;
  return Guard(
      "reading the log's tiles",
      [&]() -> absl::StatusOr<crypto::Hash> { return Subtree(0, size); });
}

absl::StatusOr<std::vector<crypto::Hash>> TileTree::InclusionProof(
    uint64_t index, uint64_t size) {
  if (auto s = Check(size, "tree_size"); !s.ok()) return s;
  if (index >= size) {
    return absl::InvalidArgumentError(
        StrCat("index: ", index, " is not in a tree of ", size, " entries"));
  }
  return Guard("reading the log's tiles",
               [&]() -> absl::StatusOr<std::vector<crypto::Hash>> {
                 // RFC 9162 2.1.3.1, top-down.
                 std::vector<crypto::Hash> proof;
                 uint64_t begin = 0, end = size;
                 while (end - begin > 1) {
                   const uint64_t split = SplitPoint(end - begin);
                   if (index - begin < split) {
                     proof.push_back(Subtree(begin + split, end));
                     end = begin + split;
                   } else {
                     proof.push_back(Subtree(begin, begin + split));
                     begin += split;
                   }
                 }
                 std::reverse(proof.begin(), proof.end());
                 return proof;
               });
}

absl::StatusOr<std::vector<crypto::Hash>> TileTree::ConsistencyProof(
    uint64_t old_size, uint64_t new_size) {
  if (auto s = Check(new_size, "new_size"); !s.ok()) return s;
  if (old_size == 0 || old_size > new_size) {
    return absl::InvalidArgumentError(
        StrCat("old_size: must be between 1 and new_size (", new_size, ")"));
  }
  return Guard("reading the log's tiles",
               [&]() -> absl::StatusOr<std::vector<crypto::Hash>> {
                 // RFC 9162 2.1.4.1 SUBPROOF(m, D[begin:end], b), top-down.
                 std::vector<crypto::Hash> proof;
                 uint64_t begin = 0, end = new_size, m = old_size;
                 bool whole_old_tree = true;
                 for (;;) {
                   const uint64_t n = end - begin;
                   if (m == n) {
                     if (!whole_old_tree) proof.push_back(Subtree(begin, end));
                     break;
                   }
                   const uint64_t split = SplitPoint(n);
                   if (m <= split) {
                     proof.push_back(Subtree(begin + split, end));
                     end = begin + split;
                   } else {
                     proof.push_back(Subtree(begin, begin + split));
                     begin += split;
                     m -= split;
                     whole_old_tree = false;
                   }
                 }
                 std::reverse(proof.begin(), proof.end());
                 return proof;
               });
}

absl::StatusOr<std::vector<crypto::Hash>> TileTree::NodeHashes(int level,
                                                               uint64_t first,
                                                               uint64_t count) {
  auto refreshed = Refresh();
  if (!refreshed.ok()) return refreshed.status();
  const uint64_t have = level >= 0 && level < 64 ? *refreshed >> level : 0;
  if (first > have || count > have - first) {
    return absl::NotFoundError(StrCat("the log has ", have,
                                      " complete subtrees at level ", level,
                                      ", not ", first, " + ", count));
  }
  return Guard("reading the log's tiles",
               [&]() -> absl::StatusOr<std::vector<crypto::Hash>> {
                 std::vector<crypto::Hash> out;
                 out.reserve(count);
                 for (uint64_t i = 0; i < count; ++i) {
                   out.push_back(Node(level, first + i));
                 }
                 return out;
               });
}

absl::Status AppendTiles(pqxx::transaction_base& txn, uint64_t base,
                         const std::vector<crypto::Hash>& leaves,
                         SqlScript& script) {
  const std::map<int, std::string> partial =
      ReadPartialTiles(txn, base, base + leaves.size());
  std::vector<crypto::Hash> hashes = leaves;
  uint64_t first = base;
  for (int level = 0; !hashes.empty(); ++level) {
    uint64_t tile = first / kTileWidth;
    const uint64_t offset = first % kTileWidth;
    std::string current;
    if (offset != 0) {
      if (auto it = partial.find(level); it != partial.end()) {
        current = it->second;
      }
      if (current.size() != offset * kHashSize) {
        return absl::DataLossError(
            StrCat("transparency log: tile ", level, "/", tile, " holds ",
                   current.size() / kHashSize, " hashes, not ", offset));
      }
    }
    const uint64_t first_completed = tile;
    std::vector<crypto::Hash> completed;
    std::vector<std::string> rows;
    for (const auto& h : hashes) {
      current.append(reinterpret_cast<const char*>(h.data()), h.size());
      if (current.size() == kTileWidth * kHashSize) {
        rows.push_back(TileRow(level, tile, current));
        completed.push_back(
            crypto::SubtreeRoot(SplitHashes(current), 0, kTileWidth));
        ++tile;
        current.clear();
      }
    }
    if (!current.empty()) rows.push_back(TileRow(level, tile, current));
    script.Insert(
        "INSERT INTO log_tiles (tile_level, tile_index, hashes) VALUES", rows,
        " ON CONFLICT (tile_level, tile_index) DO UPDATE SET hashes "
        "= EXCLUDED.hashes");
    hashes = std::move(completed);
    first = first_completed;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ReadLogEntries(ConnectionPool& pool,
                                                        TileTree& tree,
                                                        uint64_t start,
                                                        size_t count) {
  auto size = tree.Refresh();
  if (!size.ok()) return size.status();
  std::vector<std::string> entries;
  if (start >= *size) return entries;
  const uint64_t end = std::min<uint64_t>(*size, start + count);
  absl::Status s =
      RunRead(pool, "reading log entries", [&](pqxx::nontransaction& txn) {
        const auto r = txn.exec_params(
            "SELECT entry_index, entry FROM log_entries WHERE entry_index >= "
            "$1 AND entry_index < $2 ORDER BY entry_index",
            static_cast<int64_t>(start), static_cast<int64_t>(end));
        for (const auto& row : r) {
          const uint64_t i = start + entries.size();
          if (row[0].as<int64_t>() != static_cast<int64_t>(i)) break;
          entries.push_back(FieldBytes(row[1]));
        }
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (entries.size() < end - start) {
    return absl::DataLossError(StrCat("transparency log: entry ",
                                      start + entries.size(),
                                      " is missing from storage"));
  }
  auto leaves = tree.NodeHashes(0, start, end - start);
  if (!leaves.ok()) return leaves.status();
  for (size_t j = 0; j < entries.size(); ++j) {
    if (crypto::LeafHash(entries[j]) != (*leaves)[j]) {
      return absl::DataLossError(StrCat("transparency log: entry ", start + j,
                                        " was rewritten in storage (its bytes "
                                        "no longer match its leaf hash)"));
    }
  }
  return entries;
}

absl::StatusOr<std::optional<CheckpointRecord>> ReadCheckpoint(
    pqxx::transaction_base& txn) {
  const auto r =
      txn.exec("SELECT tree_size, root, note FROM log_checkpoint WHERE id = 0");
  if (r.empty()) return std::nullopt;
  CheckpointRecord record;
  record.size = static_cast<uint64_t>(r[0][0].as<int64_t>());
  const std::string root = FieldBytes(r[0][1]);
  if (root.size() != kHashSize) {
    return absl::DataLossError(
        "transparency log: stored checkpoint is corrupt");
  }
  record.root = HashAt(root);
  record.note = FieldBytes(r[0][2]);
  return record;
}

absl::Status SaveCheckpoint(ConnectionPool& pool,
                            const CheckpointRecord& record) {
  return RunSerializable(
      pool, "storing the checkpoint",
      [&](SerializableTxn& txn) -> absl::Status {
        txn.exec(
            "SELECT tree_size FROM log_checkpoint WHERE id = 0 FOR UPDATE");
        auto stored = ReadCheckpoint(txn);
        if (!stored.ok()) return stored.status();
        // A newer tree replaces the record; so does the same tree with a
        // new note (more cosignatures).
        if (*stored && ((*stored)->size > record.size ||
                        ((*stored)->size == record.size &&
                         (*stored)->root != record.root))) {
          return absl::OkStatus();
        }
        txn.exec_params(
            "INSERT INTO log_checkpoint (id, tree_size, root, note) VALUES "
            "(0, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET tree_size = "
            "EXCLUDED.tree_size, root = EXCLUDED.root, note = EXCLUDED.note",
            static_cast<int64_t>(record.size), Bytes(record.root),
            Bytes(record.note));
        return absl::OkStatus();
      });
}

absl::StatusOr<bool> HoldPublisherLease(ConnectionPool& pool,
                                        std::string_view holder,
                                        std::chrono::milliseconds ttl) {
  bool held = false;
  absl::Status s = RunSerializable(
      pool, "taking the checkpoint publisher's lease",
      [&](SerializableTxn& txn) -> absl::Status {
        held = false;
        const auto row = txn.exec(
            "SELECT holder, expires_unix_ms, CAST(EXTRACT(EPOCH FROM now()) * "
            "1000 AS BIGINT) FROM publisher_lease WHERE id = 0 FOR UPDATE");
        if (row.empty()) {
          return absl::DataLossError(
              "storage: the publisher_lease row is missing");
        }
        const std::string current = row[0][0].c_str();
        const int64_t expires = row[0][1].as<int64_t>();
        const int64_t now = row[0][2].as<int64_t>();
        const bool mine = current == holder;
        if (ttl.count() <= 0) {  // Giving it up.
          if (mine && expires > now) {
            txn.exec_params(
                "UPDATE publisher_lease SET expires_unix_ms = $1 WHERE id = 0",
                now);
          }
          return absl::OkStatus();
        }
        if (!mine && expires > now) return absl::OkStatus();  // Another's.
        txn.exec_params(
            "UPDATE publisher_lease SET holder = $1, expires_unix_ms = $2 "
            "WHERE id = 0",
            std::string(holder), now + static_cast<int64_t>(ttl.count()));
        held = true;
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return held;
}

absl::Status CheckLogAtOpen(ConnectionPool& pool, TileTree& tree,
                            uint64_t verify_entries, absl::Status* health,
                            const std::function<void()>& between_reads) {
  // Damage goes in *health; anything else fails the open.
  auto sort = [health](const absl::Status& s) {
    if (absl::IsDataLoss(s)) {
      *health = s;
      return absl::OkStatus();
    }
    return s;
  };
  *health = absl::OkStatus();
  // The checkpoint first, then the entries: other front ends keep
  // appending, and a checkpoint is stored only once its entries are
  // committed, so entries read after it hold at least its size. (Read the
  // other way round, a checkpoint published in between looked larger than
  // the log: a false DATA_LOSS that stopped the front end's log.)
  std::optional<CheckpointRecord> checkpoint;
  absl::Status read = RunRead(pool, "reading the checkpoint",
                              [&](pqxx::nontransaction& txn) -> absl::Status {
                                auto c = ReadCheckpoint(txn);
                                if (!c.ok()) return c.status();
                                checkpoint = *std::move(c);
                                return absl::OkStatus();
                              });
  if (!read.ok()) return sort(read);
  if (between_reads) between_reads();
  auto size = tree.Refresh();
  if (!size.ok()) return size.status();
  const uint64_t start = *size > verify_entries ? *size - verify_entries : 0;
  for (uint64_t at = start; at < *size; at += 4096) {
    auto entries = ReadLogEntries(pool, tree, at, 4096);
    if (!entries.ok()) return sort(entries.status());
  }
  if (!checkpoint) return absl::OkStatus();
  if (checkpoint->size > *size) {
    *health = absl::DataLossError(StrCat(
        "transparency log: ", *size, " entries in storage but a checkpoint of ",
        checkpoint->size, " was published"));
    return absl::OkStatus();
  }
  auto root = tree.Root(checkpoint->size);
  if (!root.ok()) return sort(root.status());
  if (*root != checkpoint->root) {
    *health = absl::DataLossError(
        StrCat("transparency log: the root of the stored tree differs from the "
               "signed checkpoint of size ",
               checkpoint->size, " (the log was rewritten in storage)"));
  }
  return absl::OkStatus();
}

}  // namespace loupe::storage::pg
