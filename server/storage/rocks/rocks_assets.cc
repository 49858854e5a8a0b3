// Content-addressed asset storage on RocksDB: uploads staged in their own
// SST file and ingested on commit, and verified chunked reads.
#include "server/storage/rocks/rocks_assets.h"

#include <fcntl.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/str_cat.h"
#include "crypto/random.h"
#include "server/storage/keys.h"

namespace loupe::storage {
namespace {

// asset_meta value: "A1" | content_id (16) | u64 size | u32 chunk count |
// chunk count x 32-byte SHA-256 of each stored chunk. Big-endian. An asset
// whose bytes are outside (RecordExternalAsset): "X1" | u64 size.
struct AssetRecord {
  std::string content_id;
  uint64_t size = 0;
  std::vector<crypto::Sha256Digest> chunk_digests;
  bool external = false;
};

std::string EncodeRecord(const AssetRecord& r) {
  if (r.external) {
    std::string out = "X1";
    keys::PutBigEndian64(&out, r.size);
    return out;
  }
  std::string out = "A1";
  out.append(r.content_id);
  keys::PutBigEndian64(&out, r.size);
  keys::PutBigEndian32(&out, static_cast<uint32_t>(r.chunk_digests.size()));
  for (const auto& d : r.chunk_digests) {
    out.append(reinterpret_cast<const char*>(d.data()), d.size());
  }
  return out;
}

absl::StatusOr<AssetRecord> DecodeRecord(std::string_view in) {
  if (in.size() == 10 && in.substr(0, 2) == "X1") {
    return AssetRecord{"", keys::GetBigEndian64(in.substr(2)), {}, true};
  }
  constexpr size_t kFixed = 2 + keys::kContentIdSize + 8 + 4;
  if (in.size() < kFixed || in.substr(0, 2) != "A1") {
    return absl::DataLossError("asset record is malformed");
  }
  AssetRecord r;
  r.content_id = std::string(in.substr(2, keys::kContentIdSize));
  r.size = keys::GetBigEndian64(in.substr(2 + keys::kContentIdSize));
  const uint32_t count =
      keys::GetBigEndian32(in.substr(2 + keys::kContentIdSize + 8));
  if (in.size() != kFixed + size_t{count} * 32) {
    return absl::DataLossError("asset record has a wrong length");
  }
  r.chunk_digests.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    std::memcpy(r.chunk_digests[i].data(), in.data() + kFixed + i * 32, 32);
  }
  return r;
}

// Writes an upload's chunks into its staging SST file on a thread of its
// own, so that disk writes (with writeback started every MiB) overlap
// receiving and hashing the next chunks. At most kMaxQueued chunks wait in
// memory; Add() blocks beyond that. Used by one AssetWriter at a time.
class ChunkFileWriter {
 public:
  ChunkFileWriter(RocksDb* db, std::string content_id, std::string path)
      : db_(db), content_id_(std::move(content_id)), path_(std::move(path)) {}

  ~ChunkFileWriter() {
    Stop();
    sst_.reset();  // Abandons an unfinished file.
    if (sync_fd_ >= 0) ::close(sync_fd_);
  }

  // Queues one stored chunk. An error if an earlier chunk failed to write.
  absl::Status Add(std::string chunk) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    space_.wait(lock, [this] { return queue_.size() < kMaxQueued; });
    if (!status_.ok()) return status_;
    queue_.push_back(std::move(chunk));
    ready_.notify_one();
    return absl::OkStatus();
  }

  // Waits until every queued chunk is written; then digests() is complete.
  absl::Status Drain() {
    Stop();
    return status_;
  }

  const std::vector<crypto::Sha256Digest>& digests() const { return digests_; }

  // Syncs and closes the file (after Drain). OK with nothing to do if no
  // chunk was ever added.
  absl::Status Finish() {
    if (!sst_) return absl::OkStatus();
    auto s = sst_->Finish();
    sst_.reset();
    return FromRocks(s, "finishing upload staging file");
  }

  bool has_file() const { return sst_ != nullptr; }

 private:
  static constexpr size_t kMaxQueued = 16;
  static constexpr size_t kChunksPerSync = 16;

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
    }
    ready_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  void Run() {
    for (;;) {
      std::string chunk;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return closing_ || !queue_.empty(); });
        if (queue_.empty()) return;
        chunk = std::move(queue_.front());
        queue_.pop_front();
      }
      space_.notify_one();
      absl::Status s = Write(chunk);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        status_ = s;
        queue_.clear();
        space_.notify_all();
        return;
      }
    }
  }

  absl::Status Write(const std::string& chunk) {
    if (!sst_) {
      rocksdb::EnvOptions env;
      env.bytes_per_sync = 1 << 20;  // Start writeback as bytes arrive.
      sst_ = std::make_unique<rocksdb::SstFileWriter>(env, db_->chunk_options,
                                                      db_->chunks);
      if (auto s = sst_->Open(path_); !s.ok()) {
        return FromRocks(s, "opening upload staging file");
      }
    }
    const auto index = static_cast<uint32_t>(digests_.size());
    digests_.push_back(crypto::Sha256::Of(chunk));
    auto s = FromRocks(sst_->Put(keys::Chunk(content_id_, index), chunk),
                       "staging upload chunk");
    if (s.ok() && digests_.size() % kChunksPerSync == 0) SyncSoFar();
    return s;
  }

  // Makes what was written so far durable while bytes still arrive, so that
  // the sync at commit has little left (on virtual disks a sync costs about
  // as much as the data not yet flushed). A failure here is harmless: the
  // commit's own sync decides.
  void SyncSoFar() {
    if (sync_fd_ < 0) sync_fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (sync_fd_ >= 0) (void)::fdatasync(sync_fd_);
  }

  RocksDb* db_;
  const std::string content_id_;
  const std::string path_;
  std::unique_ptr<rocksdb::SstFileWriter> sst_;  // Writer thread only.
  std::vector<crypto::Sha256Digest> digests_;    // Writer thread only.
  int sync_fd_ = -1;                             // Writer thread only.

  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::deque<std::string> queue_;
  bool closing_ = false;
  absl::Status status_;
  std::thread thread_;
};

// Streams an upload's chunks into its own SST file under the staging
// directory (no memtable, no WAL: memory stays at one chunk). Commit syncs
// the file and ingests it into the chunks column family (a hard link), then
// records the asset in one synced batch.
class RocksAssetWriter final : public AssetWriter {
 public:
  RocksAssetWriter(std::shared_ptr<RocksDb> db, StripedMutex* locks,
                   std::string content_id)
      : db_(std::move(db)),
        locks_(locks),
        content_id_(std::move(content_id)),
        staging_path_(
            db_->staging_dir + "/" +
            crypto::ToHex(reinterpret_cast<const uint8_t*>(content_id_.data()),
                          content_id_.size()) +
            ".sst"),
        file_(db_.get(), content_id_, staging_path_) {
    record_.content_id = content_id_;
  }

  ~RocksAssetWriter() override {
    if (committed_) return;
    (void)file_.Drain();
    std::error_code ec;
    std::filesystem::remove(staging_path_, ec);
  }

  absl::Status Append(std::string_view bytes) override {
    received_ += bytes.size();
    hasher_.Update(bytes);
    while (!bytes.empty()) {
      const size_t take =
          std::min(bytes.size(), kStoredChunkSize - buffer_.size());
      buffer_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (buffer_.size() == kStoredChunkSize) {
        if (auto s = file_.Add(std::move(buffer_)); !s.ok()) return s;
        buffer_.clear();
      }
    }
    return absl::OkStatus();
  }

  uint64_t bytes_received() const override { return received_; }

  absl::StatusOr<AssetCommit> Commit(uint64_t size,
                                     const crypto::Sha256Digest& sha256,
                                     std::string_view studio_id) override {
    if (!buffer_.empty()) {
      if (auto s = file_.Add(std::move(buffer_)); !s.ok()) return s;
      buffer_.clear();
    }
    if (auto s = file_.Drain(); !s.ok()) return s;
    record_.chunk_digests = file_.digests();
    const crypto::Sha256Digest actual = hasher_.Finish();
    if (received_ != size) {
      return absl::InvalidArgumentError(StrCat("size_bytes: declared ", size,
                                               " bytes but ", received_,
                                               " arrived; nothing stored"));
    }
    if (actual != sha256) {
      return absl::InvalidArgumentError(StrCat(
          "sha256: declared ", crypto::ToHex(sha256), " but the bytes hash to ",
          crypto::ToHex(actual), "; nothing stored"));
    }
    record_.size = received_;
    std::lock_guard<std::mutex> lock(locks_->For(keys::AssetMeta(sha256)));
    std::string existing;
    auto s = db_->db->Get(rocksdb::ReadOptions(), db_->asset_meta,
                          keys::AssetMeta(sha256), &existing);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading asset");
    const bool dedup = s.ok();
    if (!dedup) {
      if (auto ingest = Ingest(); !ingest.ok()) return ingest;
    }
    rocksdb::WriteBatch batch;
    if (!dedup) {
      batch.Put(db_->asset_meta, keys::AssetMeta(sha256),
                EncodeRecord(record_));
    }
    batch.Put(db_->index, keys::AssetOwner(sha256, studio_id), "");
    if (auto w =
            FromRocks(db_->db->Write(db_->durable, &batch), "committing asset");
        !w.ok()) {
      return w;
    }
    // A duplicate's staging file is deleted by the destructor.
    committed_ = !dedup;
    return AssetCommit{sha256, received_, dedup};
  }

 private:
  // Syncs the staging file and links it into the chunks column family.
  absl::Status Ingest() {
    if (!file_.has_file()) return absl::OkStatus();  // Empty: no chunks.
    if (auto s = file_.Finish(); !s.ok()) return s;
    rocksdb::IngestExternalFileOptions options;
    options.move_files = true;
    options.failed_move_fall_back_to_copy = true;
    return FromRocks(
        db_->db->IngestExternalFile(db_->chunks, {staging_path_}, options),
        "ingesting upload");
  }

  std::shared_ptr<RocksDb> db_;
  StripedMutex* locks_;
  std::string content_id_;
  std::string staging_path_;
  AssetRecord record_;
  crypto::Sha256 hasher_;
  std::string buffer_;
  ChunkFileWriter file_;
  uint64_t received_ = 0;
  bool committed_ = false;
};

class RocksAssetReader final : public AssetReader {
 public:
  RocksAssetReader(std::shared_ptr<RocksDb> db, AssetRecord record,
                   crypto::Sha256Digest sha256)
      : db_(std::move(db)), record_(std::move(record)), sha256_(sha256) {}

  uint64_t size_bytes() const override { return record_.size; }

  absl::StatusOr<std::optional<std::string>> NextChunk() override {
    const std::string hex = crypto::ToHex(sha256_);
    if (next_ == record_.chunk_digests.size()) {
      if (read_ != record_.size || hasher_.Finish() != sha256_) {
        return absl::DataLossError(
            StrCat("asset ", hex, " does not match its digest"));
      }
      return std::nullopt;
    }
    std::string chunk;
    rocksdb::ReadOptions read;
    read.fill_cache = false;  // Asset bytes would evict the metadata.
    auto s = db_->db->Get(read, db_->chunks,
                          keys::Chunk(record_.content_id, next_), &chunk);
    if (s.IsNotFound()) {
      return absl::DataLossError(
          StrCat("asset ", hex, ": chunk ", next_, " is missing"));
    }
    if (!s.ok()) return FromRocks(s, "reading asset chunk");
    if (crypto::Sha256::Of(chunk) != record_.chunk_digests[next_]) {
      return absl::DataLossError(
          StrCat("asset ", hex, ": chunk ", next_, " fails its stored digest"));
    }
    ++next_;
    read_ += chunk.size();
    hasher_.Update(chunk);
    return chunk;
  }

 private:
  std::shared_ptr<RocksDb> db_;
  AssetRecord record_;
  crypto::Sha256Digest sha256_;
  crypto::Sha256 hasher_;
  uint32_t next_ = 0;
  uint64_t read_ = 0;
};

absl::StatusOr<AssetRecord> ReadRecord(RocksDb& db,
                                       const crypto::Sha256Digest& sha256) {
  std::string value;
  auto s = db.db->Get(rocksdb::ReadOptions(), db.asset_meta,
                      keys::AssetMeta(sha256), &value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(
        StrCat("sha256: no asset ", crypto::ToHex(sha256)));
  }
  if (!s.ok()) return FromRocks(s, "reading asset record");
  return DecodeRecord(value);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AssetWriter>> BeginRocksUpload(
    std::shared_ptr<RocksDb> db, StripedMutex* locks) {
  return std::make_unique<RocksAssetWriter>(
      std::move(db), locks, crypto::RandomBytes(keys::kContentIdSize));
}

absl::StatusOr<std::unique_ptr<AssetReader>> OpenRocksAsset(
    std::shared_ptr<RocksDb> db, const crypto::Sha256Digest& sha256) {
  auto record = ReadRecord(*db, sha256);
  if (!record.ok()) return record.status();
  if (record->external) return ExternalAssetError(crypto::ToHex(sha256));
  return std::make_unique<RocksAssetReader>(std::move(db), *std::move(record),
                                            sha256);
}

absl::StatusOr<uint64_t> StoredAssetSize(RocksDb& db,
                                         const crypto::Sha256Digest& sha256) {
  auto record = ReadRecord(db, sha256);
  if (!record.ok()) return record.status();
  return record->size;
}

absl::Status ScrubAssets(RocksDb& db, const rocksdb::ReadOptions& read,
                         ScrubReport* report) {
  std::unique_ptr<rocksdb::Iterator> it(
      db.db->NewIterator(read, db.asset_meta));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++report->assets;
    crypto::Sha256Digest sha{};
    const auto key = it->key().ToStringView();
    if (key.size() != sha.size()) {
      report->problems.push_back(
          StrCat("asset record with a malformed key (", key.size(), " bytes)"));
      continue;
    }
    std::memcpy(sha.data(), key.data(), sha.size());
    const std::string name = StrCat("asset ", crypto::ToHex(sha));
    auto record = DecodeRecord(it->value().ToStringView());
    if (!record.ok()) {
      report->problems.push_back(StrCat(name, ": ", record.status().message()));
      continue;
    }
    if (record->external) {
      report->external_assets.push_back({sha, record->size});
      continue;
    }
    crypto::Sha256 whole;
    uint64_t size = 0;
    const size_t n = record->chunk_digests.size();
    bool chunks_ok = true;
    for (uint32_t i = 0; i < n; ++i) {
      std::string chunk;
      auto s = db.db->Get(read, db.chunks, keys::Chunk(record->content_id, i),
                          &chunk);
      if (!s.ok()) {
        report->problems.push_back(
            StrCat(name, ": chunk ", i, " of ", n, " ",
                   s.IsNotFound() ? "is missing" : s.ToString()));
        chunks_ok = false;
        continue;
      }
      if (crypto::Sha256::Of(chunk) != record->chunk_digests[i]) {
        report->problems.push_back(
            StrCat(name, ": chunk ", i, " of ", n,
                   " fails its stored digest (its bytes changed)"));
        chunks_ok = false;
      }
      whole.Update(chunk);
      size += chunk.size();
    }
    report->asset_bytes += size;
    if (size != record->size) {
      report->problems.push_back(StrCat(
          name, ": ", size, " bytes stored, the record says ", record->size));
    } else if (chunks_ok && whole.Finish() != sha) {
      report->problems.push_back(
          StrCat(name, ": the bytes do not hash to the asset's SHA-256"));
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scrubbing assets");
  return absl::OkStatus();
}

absl::StatusOr<bool> RecordRocksExternalAsset(
    RocksDb& db, StripedMutex* locks, const crypto::Sha256Digest& sha256,
    uint64_t size, std::string_view studio_id) {
  std::lock_guard<std::mutex> lock(locks->For(keys::AssetMeta(sha256)));
  std::string existing;
  auto s = db.db->Get(rocksdb::ReadOptions(), db.asset_meta,
                      keys::AssetMeta(sha256), &existing);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading asset");
  const bool known = s.ok();
  rocksdb::WriteBatch batch;
  if (!known) {
    batch.Put(db.asset_meta, keys::AssetMeta(sha256),
              EncodeRecord(AssetRecord{"", size, {}, true}));
  }
  batch.Put(db.index, keys::AssetOwner(sha256, studio_id), "");
  if (auto w = FromRocks(db.db->Write(db.durable, &batch),
                         "recording an external asset");
      !w.ok()) {
    return w;
  }
  return known;
}

absl::Status MarkRocksAssetExternal(RocksDb& db, StripedMutex* locks,
                                    const crypto::Sha256Digest& sha256) {
  std::lock_guard<std::mutex> lock(locks->For(keys::AssetMeta(sha256)));
  auto record = ReadRecord(db, sha256);
  if (!record.ok()) return record.status();
  if (record->external) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  batch.Put(db.asset_meta, keys::AssetMeta(sha256),
            EncodeRecord(AssetRecord{"", record->size, {}, true}));
  for (uint32_t i = 0; i < record->chunk_digests.size(); ++i) {
    batch.Delete(db.chunks, keys::Chunk(record->content_id, i));
  }
  return FromRocks(db.db->Write(db.durable, &batch),
                   "marking an asset external");
}

absl::Status SweepAbandonedUploads(RocksDb& db) {
  std::error_code ec;
  std::filesystem::remove_all(db.staging_dir, ec);
  std::filesystem::create_directories(db.staging_dir, ec);
  if (ec) {
    return absl::InternalError(
        StrCat("cannot create ", db.staging_dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace loupe::storage
