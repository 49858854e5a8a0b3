#include "server/storage/rocks/rocks_log.h"

#include <memory>
#include <mutex>

#include "base/str_cat.h"
#include "server/storage/keys.h"

namespace loupe::storage {
namespace {

constexpr size_t kHashSize = 32;

crypto::Hash HashAt(std::string_view bytes) {
  crypto::Hash h;
  std::copy(bytes.begin(), bytes.begin() + kHashSize, h.begin());
  return h;
}

std::mutex checkpoint_mu;  // Orders WriteCheckpoint's read-compare-write.

}  // namespace

absl::StatusOr<absl::Status> LoadLog(RocksDb& db, LogTree* tree) {
  std::unique_ptr<rocksdb::Iterator> it(
      db.db->NewIterator(rocksdb::ReadOptions(), db.log));
  std::vector<crypto::Hash> batch;
  uint64_t next = 0;
  absl::Status health = absl::OkStatus();
  for (it->Seek(std::string(1, keys::kLogEntryTag));
       it->Valid() && it->key().starts_with(std::string(1, keys::kLogEntryTag));
       it->Next(), ++next) {
    if (it->key() != keys::LogEntry(next)) {
      health = absl::DataLossError(
          StrCat("transparency log: entry ", next, " is missing from storage"));
      break;
    }
    const auto value = it->value().ToStringView();
    if (value.size() < kHashSize ||
        crypto::LeafHash(value.substr(kHashSize)) != HashAt(value)) {
      health = absl::DataLossError(
          StrCat("transparency log: entry ", next,
                 " was rewritten in storage (its bytes no longer match its "
                 "leaf hash)"));
      break;
    }
    batch.push_back(HashAt(value));
    if (batch.size() == 4096) {
      tree->Append(batch);
      batch.clear();
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the log");
  tree->Append(batch);
  if (!health.ok()) return health;
  auto checkpoint = ReadCheckpoint(db);
  if (!checkpoint.ok()) return checkpoint.status();
  if (!*checkpoint) return health;
  const auto& published = **checkpoint;
  if (published.size > tree->size()) {
    return absl::DataLossError(
        StrCat("transparency log: ", tree->size(),
               " entries in storage but a checkpoint of ", published.size,
               " was published"));
  }
  if (*tree->Root(published.size) != published.root) {
    return absl::DataLossError(
        StrCat("transparency log: the root recomputed from the stored entries "
               "differs from the signed checkpoint of size ",
               published.size, " (entries were rewritten in storage)"));
  }
  return health;
}

absl::StatusOr<std::vector<std::string>> ReadLogEntries(RocksDb& db,
                                                        const LogTree& tree,
                                                        uint64_t start,
                                                        size_t count) {
  const uint64_t size = tree.size();
  std::vector<std::string> entries;
  if (start >= size) return entries;
  const uint64_t end = std::min<uint64_t>(size, start + count);
  std::unique_ptr<rocksdb::Iterator> it(
      db.db->NewIterator(rocksdb::ReadOptions(), db.log));
  it->Seek(keys::LogEntry(start));
  for (uint64_t i = start; i < end; ++i, it->Next()) {
    if (!it->Valid() || it->key() != keys::LogEntry(i)) {
      if (!it->status().ok()) return FromRocks(it->status(), "reading the log");
      return absl::DataLossError(
          StrCat("transparency log: entry ", i, " is missing from storage"));
    }
    const auto value = it->value().ToStringView();
    const auto entry = value.size() >= kHashSize ? value.substr(kHashSize)
                                                 : std::string_view();
    if (value.size() < kHashSize ||
        crypto::LeafHash(entry) != *tree.LeafHash(i)) {
      return absl::DataLossError(
          StrCat("transparency log: entry ", i, " was rewritten in storage"));
    }
    entries.emplace_back(entry);
  }
  return entries;
}

absl::StatusOr<std::optional<CheckpointRecord>> ReadCheckpoint(
    RocksDb& db, const rocksdb::ReadOptions& read) {
  std::string value;
  auto s = db.db->Get(read, db.log, keys::kLogCheckpoint, &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "reading the newest checkpoint");
  if (value.size() < 8 + kHashSize) {
    return absl::DataLossError(
        "transparency log: stored checkpoint is corrupt");
  }
  CheckpointRecord record;
  record.size = keys::GetBigEndian64(value);
  record.root = HashAt(std::string_view(value).substr(8));
  record.note = value.substr(8 + kHashSize);
  return record;
}

absl::Status WriteCheckpoint(RocksDb& db, const CheckpointRecord& record) {
  std::lock_guard lock(checkpoint_mu);
  auto stored = ReadCheckpoint(db);
  if (!stored.ok()) return stored.status();
  // A newer tree replaces the record; so does the same tree with a new
  // note (more witness cosignatures, or signed again after a key rotation).
  if (*stored &&
      ((*stored)->size > record.size ||
       ((*stored)->size == record.size && (*stored)->root != record.root))) {
    return absl::OkStatus();
  }
  std::string value;
  keys::PutBigEndian64(&value, record.size);
  value.append(reinterpret_cast<const char*>(record.root.data()),
               record.root.size());
  value.append(record.note);
  return FromRocks(db.db->Put(db.durable, db.log, keys::kLogCheckpoint, value),
                   "storing the checkpoint");
}

}  // namespace loupe::storage
