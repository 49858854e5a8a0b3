// The RocksDB engine of Store: reads, the commit group, the log's tree
// rebuilt at open, backup and restore.
#include "server/storage/rocks/rocks_store.h"

#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/str_cat.h"
#include "server/storage/group_commit.h"
#include "server/storage/keys.h"
#include "server/storage/rocks/rocks_assets.h"
#include "server/storage/rocks/rocks_db.h"
#include "server/storage/rocks/rocks_lists.h"
#include "server/storage/rocks/rocks_log.h"
#include "server/storage/rocks/rocks_scrub.h"
#include "server/storage/rocks/rocks_transaction.h"

namespace loupe::storage {

namespace {

// Order matters: OpenRocksStore maps handles by position.
constexpr const char* kColumnFamilies[] = {
    "default",      "pieces", "versions",     "asset_meta",
    "asset_chunks", "index",  "certificates", "log"};

rocksdb::ColumnFamilyOptions MetadataOptions() {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = 16 << 20;
  return cf;
}

// Asset chunks arrive as ingested SST files (one per upload, disjoint key
// ranges, so they stay where they land and are never rewritten). Scans and
// CAD files are mostly incompressible, so no compression.
rocksdb::ColumnFamilyOptions ChunkOptions() {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = 4 << 20;
  cf.compression = rocksdb::kNoCompression;
  cf.bottommost_compression = rocksdb::kNoCompression;
  return cf;
}

class RocksStore final : public Store {
 public:
  RocksStore(std::shared_ptr<RocksDb> db, std::unique_ptr<LogTree> tree,
             absl::Status log_health)
      : db_(std::move(db)),
        tree_(std::move(tree)),
        log_health_(std::move(log_health)) {}

  void Commit(Work work, Done done) override {
    committer_->Submit(std::move(work), std::move(done));
  }

  absl::StatusOr<v1::Piece> GetPiece(std::string_view piece_id) override {
    return ReadPiece(*db_, piece_id);
  }

  absl::StatusOr<v1::TwinVersion> GetVersion(std::string_view piece_id,
                                             uint32_t number) override {
    if (number == 0) {
      auto piece = GetPiece(piece_id);
      if (!piece.ok()) return piece.status();
      if (piece->current_version() == 0) {
        return absl::NotFoundError("number: the piece has no version yet");
      }
      number = piece->current_version();
    }
    std::string value;
    auto s = db_->db->Get(rocksdb::ReadOptions(), db_->versions,
                          keys::Version(piece_id, number), &value);
    if (s.IsNotFound()) {
      if (auto p = GetPiece(piece_id); !p.ok()) return p.status();
      return absl::NotFoundError(
          StrCat("number: piece ", piece_id, " has no version ", number));
    }
    if (!s.ok()) return FromRocks(s, "reading version");
    return ParseStored<v1::TwinVersion>(value, "version");
  }

  absl::StatusOr<VersionPage> ListVersions(std::string_view piece_id,
                                           uint32_t after,
                                           size_t limit) override {
    if (auto p = GetPiece(piece_id); !p.ok()) return p.status();
    VersionPage page;
    const std::string prefix = keys::VersionPrefix(piece_id);
    std::unique_ptr<rocksdb::Iterator> it(
        db_->db->NewIterator(rocksdb::ReadOptions(), db_->versions));
    for (it->Seek(keys::Version(piece_id, after + 1));
         it->Valid() && it->key().starts_with(prefix); it->Next()) {
      if (page.versions.size() == limit) {
        page.last_number = page.versions.back().number();
        break;
      }
      auto v =
          ParseStored<v1::TwinVersion>(it->value().ToStringView(), "version");
      if (!v.ok()) return v.status();
      page.versions.push_back(*std::move(v));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "listing versions");
    return page;
  }

  absl::StatusOr<PiecePage> ListPieces(std::string_view studio_id,
                                       std::string_view start_after,
                                       size_t limit) override {
    return studio_id.empty()
               ? ListAllPieces(*db_, start_after, limit)
               : ListStudioPieces(*db_, studio_id, start_after, limit);
  }

  absl::StatusOr<v1::Certificate> GetCertificate(std::string_view id) override {
    std::string key;
    auto s = db_->db->Get(rocksdb::ReadOptions(), db_->index,
                          keys::CertificateById(id), &key);
    if (s.IsNotFound()) {
      return absl::NotFoundError(StrCat("certificate_id: no certificate ", id));
    }
    if (!s.ok()) return FromRocks(s, "reading certificate index");
    std::string value;
    s = db_->db->Get(rocksdb::ReadOptions(), db_->certificates, key, &value);
    if (!s.ok()) return FromRocks(s, "reading certificate");
    return ParseStored<v1::Certificate>(value, "certificate");
  }

  absl::StatusOr<std::optional<v1::Certificate>> GetCertificateOf(
      std::string_view piece_id, uint32_t version) override {
    std::string value;
    auto s = db_->db->Get(rocksdb::ReadOptions(), db_->certificates,
                          keys::Version(piece_id, version), &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) return FromRocks(s, "reading certificate");
    auto parsed = ParseStored<v1::Certificate>(value, "certificate");
    if (!parsed.ok()) return parsed.status();
    return *std::move(parsed);
  }

  absl::StatusOr<std::vector<v1::Certificate>> ListCertificates(
      std::string_view piece_id) override {
    if (auto p = GetPiece(piece_id); !p.ok()) return p.status();
    std::vector<v1::Certificate> out;
    const std::string prefix = keys::VersionPrefix(piece_id);
    std::unique_ptr<rocksdb::Iterator> it(
        db_->db->NewIterator(rocksdb::ReadOptions(), db_->certificates));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      auto c = ParseStored<v1::Certificate>(it->value().ToStringView(),
                                            "certificate");
      if (!c.ok()) return c.status();
      out.push_back(*std::move(c));
    }
    if (!it->status().ok())
      return FromRocks(it->status(), "listing certificates");
    return out;
  }

  absl::StatusOr<std::vector<v1::OwnerRecord>> ListOwners(
      std::string_view piece_id) override {
    if (auto p = GetPiece(piece_id); !p.ok()) return p.status();
    std::vector<v1::OwnerRecord> out;
    const std::string prefix = keys::OwnerPrefix(piece_id);
    std::unique_ptr<rocksdb::Iterator> it(
        db_->db->NewIterator(rocksdb::ReadOptions(), db_->index));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      auto o =
          ParseStored<v1::OwnerRecord>(it->value().ToStringView(), "owner");
      if (!o.ok()) return o.status();
      out.push_back(*std::move(o));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "listing owners");
    return out;
  }

  absl::Status LogHealth() override { return log_health_; }
  absl::StatusOr<ScrubReport> Scrub() override { return ScrubRocks(*db_); }
  absl::Status Backup(const std::string& data_dir) override {
    rocksdb::Checkpoint* raw = nullptr;
    auto s = rocksdb::Checkpoint::Create(db_->db, &raw);
    if (!s.ok()) return FromRocks(s, "starting a backup");
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    s = checkpoint->CreateCheckpoint(data_dir + "/rocksdb");
    if (!s.ok()) return FromRocks(s, "writing the backup");
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> LogSize() override {
    if (!log_health_.ok()) return log_health_;
    return tree_->size();
  }
  absl::StatusOr<crypto::Hash> LogRoot(uint64_t size) override {
    if (!log_health_.ok()) return log_health_;
    return tree_->Root(size);
  }
  absl::StatusOr<std::vector<crypto::Hash>> LogInclusionProof(
      uint64_t index, uint64_t size) override {
    if (!log_health_.ok()) return log_health_;
    return tree_->InclusionProof(index, size);
  }
  absl::StatusOr<std::vector<crypto::Hash>> LogConsistencyProof(
      uint64_t old_size, uint64_t new_size) override {
    if (!log_health_.ok()) return log_health_;
    return tree_->ConsistencyProof(old_size, new_size);
  }
  absl::StatusOr<std::vector<crypto::Hash>> LogNodeHashes(
      int level, uint64_t first, uint64_t count) override {
    if (!log_health_.ok()) return log_health_;
    return tree_->NodeHashes(level, first, count);
  }
  absl::StatusOr<std::vector<std::string>> LogEntries(uint64_t start,
                                                      size_t count) override {
    if (!log_health_.ok()) return log_health_;
    return ReadLogEntries(*db_, *tree_, start, count);
  }
  absl::StatusOr<std::optional<CheckpointRecord>> LatestCheckpoint() override {
    if (!log_health_.ok()) return log_health_;
    return ReadCheckpoint(*db_);
  }
  absl::Status SaveCheckpoint(const CheckpointRecord& record) override {
    if (!log_health_.ok()) return log_health_;
    return WriteCheckpoint(*db_, record);
  }

  absl::StatusOr<std::unique_ptr<AssetWriter>> BeginUpload() override {
    return BeginRocksUpload(db_, &locks_);
  }

  absl::StatusOr<std::unique_ptr<AssetReader>> OpenAsset(
      const crypto::Sha256Digest& sha256) override {
    return OpenRocksAsset(db_, sha256);
  }

  absl::StatusOr<bool> RecordExternalAsset(
      const crypto::Sha256Digest& sha256, uint64_t size,
      std::string_view studio_id) override {
    return RecordRocksExternalAsset(*db_, &locks_, sha256, size, studio_id);
  }

  absl::Status MarkAssetExternal(const crypto::Sha256Digest& sha256) override {
    return MarkRocksAssetExternal(*db_, &locks_, sha256);
  }

  absl::StatusOr<bool> IsAssetUploadedBy(const crypto::Sha256Digest& sha256,
                                         std::string_view studio_id) override {
    return IndexHas(keys::AssetOwner(sha256, studio_id));
  }

  absl::StatusOr<bool> IsAssetOfPiece(const crypto::Sha256Digest& sha256,
                                      std::string_view piece_id) override {
    return IndexHas(keys::PieceAsset(piece_id, sha256));
  }
  absl::StatusOr<v1::GeometryCheck> GetCheck(
      std::string_view check_id) override {
    std::string value;
    auto s = db_->db->Get(rocksdb::ReadOptions(), db_->index,
                          keys::Check(check_id), &value);
    if (s.IsNotFound()) {
      return absl::NotFoundError(StrCat("check_id: no check ", check_id));
    }
    if (!s.ok()) return FromRocks(s, "reading check");
    return ParseStored<v1::GeometryCheck>(value, "check");
  }

  absl::StatusOr<Stats> CountStats() override {
    Stats stats;
    auto count = [&](rocksdb::ColumnFamilyHandle* cf, std::string_view prefix,
                     uint64_t* n) {
      std::unique_ptr<rocksdb::Iterator> it(
          db_->db->NewIterator(rocksdb::ReadOptions(), cf));
      for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
           it->Valid() &&
           it->key().starts_with(rocksdb::Slice(prefix.data(), prefix.size()));
           it->Next()) {
        ++*n;
      }
      return FromRocks(it->status(), "counting");
    };
    if (auto s = count(db_->asset_meta, "", &stats.assets); !s.ok()) return s;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(db_->staging_dir, ec);
         !ec && it != std::filesystem::directory_iterator(); ++it) {
      ++stats.uploads_in_flight;
    }
    return stats;
  }

 private:
  absl::StatusOr<bool> IndexHas(const std::string& key) {
    std::string value;
    auto s = db_->db->Get(rocksdb::ReadOptions(), db_->index, key, &value);
    if (s.ok()) return true;
    if (s.IsNotFound()) return false;
    return FromRocks(s, "reading index");
  }

  std::shared_ptr<RocksDb> db_;
  std::unique_ptr<LogTree> tree_;
  const absl::Status log_health_;  // Fixed at open.
  StripedMutex locks_;             // For asset commits (deduplication).
  // Declared last: destroyed first, committing what is queued while the
  // database is still open.
  PendingLog pending_log_{tree_.get(), &log_health_};
  std::unique_ptr<GroupCommitter> committer_ = std::make_unique<GroupCommitter>(
      [this] { return NewRocksBatch(db_.get(), &pending_log_); },
      &pending_log_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenRocksStore(const std::string& dir) {
  const std::string path = dir + "/rocksdb";
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        StrCat("cannot create ", path, ": ", ec.message()));
  }
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;
  // Writers waiting for a group commit's fsync sleep instead of spinning:
  // with many writer threads on few cores, spinning starves the RPC threads.
  db_options.enable_write_thread_adaptive_yield = false;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kColumnFamilies) {
    descriptors.emplace_back(name, std::string(name) == "asset_chunks"
                                       ? ChunkOptions()
                                       : MetadataOptions());
  }
  auto db = std::make_shared<RocksDb>();
  auto s =
      rocksdb::DB::Open(db_options, path, descriptors, &db->handles, &db->db);
  if (!s.ok()) return FromRocks(s, StrCat("opening store at ", path));
  db->pieces = db->handles[1];
  db->versions = db->handles[2];
  db->asset_meta = db->handles[3];
  db->chunks = db->handles[4];
  db->index = db->handles[5];
  db->certificates = db->handles[6];
  db->log = db->handles[7];
  db->durable.sync = true;
  db->chunk_options = rocksdb::Options(db_options, ChunkOptions());
  db->staging_dir = dir + "/staging";
  if (auto sweep = SweepAbandonedUploads(*db); !sweep.ok()) return sweep;
  auto tree = std::make_unique<LogTree>();
  auto log_health = LoadLog(*db, tree.get());
  if (!log_health.ok()) return log_health.status();
  return std::unique_ptr<Store>(
      new RocksStore(std::move(db), std::move(tree), *std::move(log_health)));
}

bool HasRocksStore(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(dir) / "rocksdb", ec);
}

absl::Status RestoreRocksStore(const std::string& backup_dir,
                               const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path from = fs::path(backup_dir) / "rocksdb";
  const fs::path to = fs::path(dir) / "rocksdb";
  std::error_code ec;
  if (!fs::is_directory(from, ec)) {
    return absl::NotFoundError(
        StrCat("backup: ", backup_dir, " holds no backup (no rocksdb/)"));
  }
  if (fs::exists(to, ec)) {
    return absl::AlreadyExistsError(
        StrCat("data_dir: ", dir,
               " already holds a store; restore into a new directory"));
  }
  fs::create_directories(to, ec);
  if (!ec) fs::copy(from, to, fs::copy_options::recursive, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        StrCat("data_dir: cannot copy the backup: ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace loupe::storage
