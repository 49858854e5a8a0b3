// Store::Scrub for the RocksDB store: re-reads everything from one
// snapshot and reports what does not hold, naming the record. Changes
// nothing. See store.h for what is checked.

#include "server/storage/rocks/rocks_scrub.h"

#include <memory>

#include "base/str_cat.h"
#include "crypto/merkle.h"
#include "crypto/sha256.h"
#include "server/storage/keys.h"
#include "server/storage/rocks/rocks_assets.h"
#include "server/storage/rocks/rocks_db.h"
#include "server/storage/rocks/rocks_log.h"

namespace loupe::storage {
namespace {

constexpr size_t kHashSize = 32;

// Every entry against its leaf hash; the stored leaves against the newest
// checkpoint.
absl::Status ScrubLog(RocksDb& db, const rocksdb::ReadOptions& read,
                      ScrubReport* report) {
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(read, db.log));
  std::vector<crypto::Hash> leaves;
  const std::string tag(1, keys::kLogEntryTag);
  for (it->Seek(tag); it->Valid() && it->key().starts_with(tag); it->Next()) {
    const uint64_t index = leaves.size();
    if (it->key() != keys::LogEntry(index)) {
      report->problems.push_back(
          StrCat("log entry ", index, " is missing (the entries skip to key ",
                 crypto::ToHex(it->key().ToStringView()), ")"));
      break;
    }
    ++report->log_entries;
    const auto value = it->value().ToStringView();
    crypto::Hash stored{};
    if (value.size() < kHashSize) {
      report->problems.push_back(StrCat("log entry ", index, " is truncated (",
                                        value.size(), " bytes)"));
    } else {
      std::copy(value.begin(), value.begin() + kHashSize, stored.begin());
      if (crypto::LeafHash(value.substr(kHashSize)) != stored) {
        report->problems.push_back(StrCat("log entry ", index,
                                          ": its bytes no longer match its "
                                          "leaf hash (rewritten in storage)"));
      }
    }
    leaves.push_back(stored);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scrubbing the log");
  auto checkpoint = ReadCheckpoint(db, read);
  if (!checkpoint.ok()) {
    report->problems.push_back(
        StrCat("log checkpoint: ", checkpoint.status().message()));
    return absl::OkStatus();
  }
  if (!checkpoint->has_value()) return absl::OkStatus();
  const auto& published = **checkpoint;
  report->checkpoint_size = published.size;
  if (published.size > leaves.size()) {
    report->problems.push_back(StrCat("log: a checkpoint of ", published.size,
                                      " entries was signed "
                                      "but storage holds ",
                                      leaves.size()));
  } else if (crypto::SubtreeRoot(leaves, 0, published.size) != published.root) {
    report->problems.push_back(
        StrCat("log: the root of the first ", published.size,
               " stored entries differs from the signed checkpoint's"));
  }
  return absl::OkStatus();
}

bool AssetStored(RocksDb& db, const rocksdb::ReadOptions& read,
                 const std::string& hex) {
  auto sha = crypto::ParseSha256Hex(hex);
  if (!sha.ok()) return false;
  std::string value;
  return db.db->Get(read, db.asset_meta, keys::AssetMeta(*sha), &value).ok();
}

// One piece's versions: numbered 1..current, each of this piece, each
// deriving from an earlier one, each with its assets stored.
absl::Status ScrubVersions(RocksDb& db, const rocksdb::ReadOptions& read,
                           const v1::Piece& piece, ScrubReport* report) {
  const std::string name = StrCat("piece ", piece.id());
  const std::string prefix = keys::VersionPrefix(piece.id());
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(read, db.versions));
  uint32_t expected = 1;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next(), ++expected) {
    ++report->versions;
    const auto number = keys::VersionNumber(it->key().ToStringView());
    if (!number || *number != expected) {
      report->problems.push_back(
          StrCat(name, ": version ", expected, " is missing from the chain"));
      expected = number.value_or(expected);
    }
    auto parsed =
        ParseStored<v1::TwinVersion>(it->value().ToStringView(), "version");
    if (!parsed.ok()) {
      report->problems.push_back(
          StrCat(name, ": version ", expected, " is not readable"));
      continue;
    }
    const v1::TwinVersion& v = *parsed;
    if (v.piece_id() != piece.id() || v.number() != expected ||
        v.parent_number() >= v.number()) {
      report->problems.push_back(StrCat(
          name, ": version ", expected, " says it is version ", v.number(),
          " of ", v.piece_id(), " with parent ", v.parent_number()));
    }
    for (const auto& asset : v.assets()) {
      if (!AssetStored(db, read, asset.sha256())) {
        report->problems.push_back(StrCat(name, ": version ", expected,
                                          ": asset ", asset.sha256(),
                                          " is not stored"));
      }
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scrubbing versions");
  if (expected - 1 != piece.current_version()) {
    report->problems.push_back(StrCat(name, ": current version is ",
                                      piece.current_version(), " but ",
                                      expected - 1, " are stored"));
  }
  return absl::OkStatus();
}

absl::Status ScrubPieces(RocksDb& db, const rocksdb::ReadOptions& read,
                         ScrubReport* report) {
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(read, db.pieces));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++report->pieces;
    auto parsed = ParseStored<v1::Piece>(it->value().ToStringView(), "piece");
    if (!parsed.ok() || parsed->id() != it->key().ToStringView()) {
      report->problems.push_back(
          StrCat("piece ", it->key().ToStringView(), " is not readable"));
      continue;
    }
    if (auto s = ScrubVersions(db, read, *parsed, report); !s.ok()) return s;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scrubbing pieces");
  return absl::OkStatus();
}

absl::Status ScrubCertificates(RocksDb& db, const rocksdb::ReadOptions& read,
                               ScrubReport* report) {
  std::unique_ptr<rocksdb::Iterator> it(
      db.db->NewIterator(read, db.certificates));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++report->certificates;
    auto parsed =
        ParseStored<v1::Certificate>(it->value().ToStringView(), "certificate");
    if (!parsed.ok()) {
      report->problems.push_back("a certificate is not readable");
      continue;
    }
    const v1::Certificate& c = *parsed;
    std::string key;
    auto s = db.db->Get(read, db.index, keys::CertificateById(c.id()), &key);
    if (!s.ok() || key != it->key().ToStringView()) {
      report->problems.push_back(StrCat("certificate ", c.id(),
                                        ": its index entry is ",
                                        s.ok() ? "wrong" : "missing"));
    }
  }
  if (!it->status().ok())
    return FromRocks(it->status(), "scrubbing certificates");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ScrubReport> ScrubRocks(RocksDb& db) {
  const rocksdb::Snapshot* snapshot = db.db->GetSnapshot();
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  read.fill_cache = false;  // A scan of everything would evict the rest.
  read.verify_checksums = true;
  ScrubReport report;
  absl::Status s = ScrubAssets(db, read, &report);
  if (s.ok()) s = ScrubLog(db, read, &report);
  if (s.ok()) s = ScrubPieces(db, read, &report);
  if (s.ok()) s = ScrubCertificates(db, read, &report);
  db.db->ReleaseSnapshot(snapshot);
  if (!s.ok()) return s;
  return report;
}

}  // namespace loupe::storage
