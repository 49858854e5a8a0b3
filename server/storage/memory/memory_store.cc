// The in-memory engine (memory_store.h): reads, assets, the log, scrub.
// Backup and restore are in memory_backup.cc.
#include "server/storage/memory/memory_store.h"

#include <algorithm>
#include <atomic>

#include "base/str_cat.h"
#include "server/storage/keys.h"
#include "server/storage/log_tree.h"
#include "server/storage/memory/memory_state.h"
#include "server/storage/record.h"

namespace loupe::storage {
namespace {

constexpr size_t kChunkSize = 1 << 20;

std::string RawSha(const crypto::Sha256Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

class MemoryAssetWriter final : public AssetWriter {
 public:
  MemoryAssetWriter(std::shared_ptr<MemoryState> state,
                    std::atomic<uint64_t>* in_flight)
      : state_(std::move(state)), in_flight_(in_flight) {
    ++*in_flight_;
  }
  ~MemoryAssetWriter() override { --*in_flight_; }

  absl::Status Append(std::string_view bytes) override {
    bytes_.append(bytes);
    return absl::OkStatus();
  }
  uint64_t bytes_received() const override { return bytes_.size(); }

  absl::StatusOr<AssetCommit> Commit(uint64_t size,
                                     const crypto::Sha256Digest& sha256,
                                     std::string_view studio_id) override {
    if (bytes_.size() != size) {
      return absl::InvalidArgumentError(StrCat("size_bytes: declared ", size,
                                               " bytes but ", bytes_.size(),
                                               " arrived; nothing stored"));
    }
    if (crypto::Sha256::Of(bytes_) != sha256) {
      return absl::InvalidArgumentError(
          "sha256: the bytes that arrived have a different digest; nothing "
          "stored");
    }
    AssetCommit commit{sha256, size, false};
    std::unique_lock lock(state_->mu);
    auto [it, added] = state_->assets.try_emplace(RawSha(sha256));
    if (added) {
      for (size_t at = 0; at < bytes_.size(); at += kChunkSize) {
        it->second.chunk_digests.push_back(crypto::Sha256::Of(
            std::string_view(bytes_).substr(at, kChunkSize)));
      }
      it->second.bytes = std::move(bytes_);
    } else {
      commit.deduplicated = true;
    }
    state_->tables[kIndex][keys::AssetOwner(sha256, studio_id)] = "";
    bytes_.clear();
    return commit;
  }

 private:
  std::shared_ptr<MemoryState> state_;
  std::atomic<uint64_t>* in_flight_;
  std::string bytes_;
};

class MemoryAssetReader final : public AssetReader {
 public:
  MemoryAssetReader(std::shared_ptr<MemoryState> state, std::string raw_sha,
                    uint64_t size)
      : state_(std::move(state)), raw_sha_(std::move(raw_sha)), size_(size) {}

  uint64_t size_bytes() const override { return size_; }
  absl::StatusOr<std::optional<std::string>> NextChunk() override {
    const std::string name = StrCat("asset ", crypto::ToHex(raw_sha_));
    std::shared_lock lock(state_->mu);
    const auto& asset = state_->assets.at(raw_sha_);
    if (next_ == asset.chunk_digests.size()) {
      if (hasher_.Finish() !=
          *reinterpret_cast<const crypto::Sha256Digest*>(raw_sha_.data())) {
        return absl::DataLossError(StrCat(name, " fails its SHA-256"));
      }
      return std::nullopt;
    }
    std::string chunk = asset.bytes.substr(next_ * kChunkSize, kChunkSize);
    if (crypto::Sha256::Of(chunk) != asset.chunk_digests[next_]) {
      return absl::DataLossError(
          StrCat(name, ": chunk ", next_, " fails its stored digest"));
    }
    ++next_;
    hasher_.Update(chunk);
    return chunk;
  }

 private:
  std::shared_ptr<MemoryState> state_;
  std::string raw_sha_;
  uint64_t size_;
  size_t next_ = 0;
  crypto::Sha256 hasher_;
};

class MemoryStoreImpl final : public MemoryStore {
 public:
  MemoryStoreImpl(std::shared_ptr<MemoryState> state, absl::Status health)
      : state_(std::move(state)), log_health_(std::move(health)) {
    std::vector<crypto::Hash> leaves;
    for (const auto& e : state_->log) leaves.push_back(e.leaf);
    tree_.Append(leaves);
  }

  void Commit(Work work, Done done) override {
    committer_->Submit(std::move(work), std::move(done));
  }

  absl::StatusOr<v1::Piece> GetPiece(std::string_view piece_id) override {
    auto raw = Get(kPieces, piece_id);
    if (!raw)
      return absl::NotFoundError(StrCat("piece_id: no piece ", piece_id));
    return DecodeRecord<v1::Piece>(*raw, "piece");
  }
  absl::StatusOr<v1::TwinVersion> GetVersion(std::string_view piece_id,
                                             uint32_t number) override {
    auto piece = GetPiece(piece_id);
    if (!piece.ok()) return piece.status();
    if (number == 0) {
      if (piece->current_version() == 0) {
        return absl::NotFoundError("number: the piece has no version yet");
      }
      number = piece->current_version();
    }
    auto raw = Get(kVersions, keys::Version(piece_id, number));
    if (!raw) {
      return absl::NotFoundError(
          StrCat("number: piece ", piece_id, " has no version ", number));
    }
    return DecodeRecord<v1::TwinVersion>(*raw, "version");
  }
  absl::StatusOr<VersionPage> ListVersions(std::string_view piece_id,
                                           uint32_t after,
                                           size_t limit) override {
    if (auto p = GetPiece(piece_id); !p.ok()) return p.status();
    VersionPage page;
    auto status = Scan(kVersions, keys::VersionPrefix(piece_id),
                       keys::Version(piece_id, after + 1),
                       [&](std::string_view, std::string_view value) {
                         if (page.versions.size() == limit) {
                           page.last_number = page.versions.back().number();
                           return absl::CancelledError();
                         }
                         auto v =
                             DecodeRecord<v1::TwinVersion>(value, "version");
                         if (!v.ok()) return v.status();
                         page.versions.push_back(*std::move(v));
                         return absl::OkStatus();
                       });
    if (!status.ok() && !absl::IsCancelled(status)) return status;
    return page;
  }
  absl::StatusOr<PiecePage> ListPieces(std::string_view studio_id,
                                       std::string_view start_after,
                                       size_t limit) override {
    PiecePage page;
    auto add = [&](std::string_view id) -> absl::Status {
      if (id == start_after && !start_after.empty()) return absl::OkStatus();
      if (page.pieces.size() == limit) {
        page.last_key = page.pieces.back().id();
        return absl::CancelledError();
      }
      auto p = GetPiece(id);
      if (!p.ok()) return p.status();
      page.pieces.push_back(*std::move(p));
      return absl::OkStatus();
    };
    absl::Status status;
    if (studio_id.empty()) {
      status = Scan(
          kPieces, "", std::string(start_after),
          [&](std::string_view key, std::string_view) { return add(key); });
    } else {
      const std::string prefix = keys::StudioPiecePrefix(studio_id);
      status = Scan(kIndex, prefix, keys::StudioPiece(studio_id, start_after),
                    [&](std::string_view key, std::string_view) {
                      return add(key.substr(prefix.size()));
                    });
    }
    if (!status.ok() && !absl::IsCancelled(status)) return status;
    return page;
  }
  absl::StatusOr<v1::Certificate> GetCertificate(std::string_view id) override {
    auto key = Get(kIndex, keys::CertificateById(id));
    auto raw = key ? Get(kCertificates, *key) : std::nullopt;
    if (!raw) {
      return absl::NotFoundError(StrCat("certificate_id: no certificate ", id));
    }
    return DecodeRecord<v1::Certificate>(*raw, "certificate");
  }
  absl::StatusOr<std::optional<v1::Certificate>> GetCertificateOf(
      std::string_view piece_id, uint32_t version) override {
    auto raw = Get(kCertificates, keys::Version(piece_id, version));
    if (!raw) return std::nullopt;
    auto c = DecodeRecord<v1::Certificate>(*raw, "certificate");
    if (!c.ok()) return c.status();
    return *std::move(c);
  }
  absl::StatusOr<std::vector<v1::Certificate>> ListCertificates(
      std::string_view piece_id) override {
    return ListOf<v1::Certificate>(
        piece_id, kCertificates, keys::VersionPrefix(piece_id), "certificate");
  }
  absl::StatusOr<std::vector<v1::OwnerRecord>> ListOwners(
      std::string_view piece_id) override {
    return ListOf<v1::OwnerRecord>(piece_id, kIndex,
                                   keys::OwnerPrefix(piece_id), "owner");
  }
  absl::StatusOr<bool> IsAssetUploadedBy(const crypto::Sha256Digest& sha256,
                                         std::string_view studio_id) override {
    return Get(kIndex, keys::AssetOwner(sha256, studio_id)).has_value();
  }
  absl::StatusOr<bool> IsAssetOfPiece(const crypto::Sha256Digest& sha256,
                                      std::string_view piece_id) override {
    return Get(kIndex, keys::PieceAsset(piece_id, sha256)).has_value();
  }
  absl::StatusOr<v1::GeometryCheck> GetCheck(
      std::string_view check_id) override {
    auto raw = Get(kIndex, keys::Check(check_id));
    if (!raw)
      return absl::NotFoundError(StrCat("check_id: no check ", check_id));
    return DecodeRecord<v1::GeometryCheck>(*raw, "check");
  }

  absl::Status LogHealth() override { return log_health_; }
  absl::StatusOr<uint64_t> LogSize() override {
    if (!log_health_.ok()) return log_health_;
    return tree_.size();
  }
  absl::StatusOr<crypto::Hash> LogRoot(uint64_t size) override {
    if (!log_health_.ok()) return log_health_;
    return tree_.Root(size);
  }
  absl::StatusOr<std::vector<crypto::Hash>> LogInclusionProof(
      uint64_t index, uint64_t size) override {
    if (!log_health_.ok()) return log_health_;
    return tree_.InclusionProof(index, size);
  }
  absl::StatusOr<std::vector<crypto::Hash>> LogConsistencyProof(
      uint64_t old_size, uint64_t new_size) override {
    if (!log_health_.ok()) return log_health_;
    return tree_.ConsistencyProof(old_size, new_size);
  }
  absl::StatusOr<std::vector<crypto::Hash>> LogNodeHashes(
      int level, uint64_t first, uint64_t count) override {
    if (!log_health_.ok()) return log_health_;
    return tree_.NodeHashes(level, first, count);
  }
  absl::StatusOr<std::vector<std::string>> LogEntries(uint64_t start,
                                                      size_t count) override {
    if (!log_health_.ok()) return log_health_;
    const uint64_t size = tree_.size();
    std::vector<std::string> out;
    std::shared_lock lock(state_->mu);
    for (uint64_t i = start; i < size && i - start < count; ++i) {
      const auto& e = state_->log[i];
      if (crypto::LeafHash(e.entry) != *tree_.LeafHash(i)) {
        return absl::DataLossError(
            StrCat("transparency log: entry ", i, " was rewritten in storage"));
      }
      out.push_back(e.entry);
    }
    return out;
  }
  absl::StatusOr<std::optional<CheckpointRecord>> LatestCheckpoint() override {
    if (!log_health_.ok()) return log_health_;
    std::shared_lock lock(state_->mu);
    return state_->checkpoint;
  }
  absl::Status SaveCheckpoint(const CheckpointRecord& record) override {
    if (!log_health_.ok()) return log_health_;
    std::unique_lock lock(state_->mu);
    const auto& stored = state_->checkpoint;
    if (stored &&
        (stored->size > record.size ||
         (stored->size == record.size && stored->root != record.root))) {
      return absl::OkStatus();
    }
    state_->checkpoint = record;
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<AssetWriter>> BeginUpload() override {
    return std::make_unique<MemoryAssetWriter>(state_, &uploads_in_flight_);
  }
  absl::StatusOr<std::unique_ptr<AssetReader>> OpenAsset(
      const crypto::Sha256Digest& sha256) override {
    std::shared_lock lock(state_->mu);
    auto it = state_->assets.find(RawSha(sha256));
    if (it == state_->assets.end()) {
      return absl::NotFoundError(
          StrCat("sha256: no asset ", crypto::ToHex(sha256)));
    }
    return std::make_unique<MemoryAssetReader>(state_, it->first,
                                               it->second.bytes.size());
  }

  absl::StatusOr<ScrubReport> Scrub() override { return ScrubMemory(*state_); }
  absl::Status Backup(const std::string& directory) override {
    return WriteMemoryBackup(*state_, directory);
  }
  absl::StatusOr<Stats> CountStats() override {
    std::shared_lock lock(state_->mu);
    return Stats{state_->assets.size(), uploads_in_flight_.load()};
  }

  absl::Status FlipAssetByteForTests(const crypto::Sha256Digest& sha256,
                                     uint64_t offset) override {
    std::unique_lock lock(state_->mu);
    auto it = state_->assets.find(RawSha(sha256));
    if (it == state_->assets.end() || offset >= it->second.bytes.size()) {
      return absl::NotFoundError("no such asset byte");
    }
    it->second.bytes[offset] ^= 0x01;
    return absl::OkStatus();
  }
  absl::Status RewriteLogEntryForTests(uint64_t index,
                                       std::string entry) override {
    std::unique_lock lock(state_->mu);
    if (index >= state_->log.size()) return absl::NotFoundError("no entry");
    state_->log[index].entry = std::move(entry);
    return absl::OkStatus();
  }

 private:
  using Visit =
      std::function<absl::Status(std::string_view key, std::string_view value)>;

  std::optional<std::string> Get(Table table, std::string_view key) {
    std::shared_lock lock(state_->mu);
    const auto& t = state_->tables[table];
    auto it = t.find(key);
    if (it == t.end()) return std::nullopt;
    return it->second;
  }
  // Rows with `prefix` from `start` on (start past any equal key when it
  // equals a listed key is the caller's business), in key order. Stops at
  // the first error `visit` returns. Rows are copied out first: `visit`
  // may read the store.
  absl::Status Scan(Table table, std::string_view prefix,
                    const std::string& start, const Visit& visit) {
    std::vector<std::pair<std::string, std::string>> rows;
    {
      std::shared_lock lock(state_->mu);
      const auto& t = state_->tables[table];
      for (auto it = t.lower_bound(std::max<std::string_view>(start, prefix));
           it != t.end() && std::string_view(it->first).starts_with(prefix);
           ++it) {
        rows.emplace_back(it->first, it->second);
      }
    }
    for (const auto& [k, v] : rows) {
      if (auto s = visit(k, v); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  template <typename Message>
  absl::StatusOr<std::vector<Message>> ListOf(std::string_view piece_id,
                                              Table table,
                                              const std::string& prefix,
                                              std::string_view what) {
    if (auto p = GetPiece(piece_id); !p.ok()) return p.status();
    std::vector<Message> out;
    auto s = Scan(table, prefix, prefix,
                  [&](std::string_view, std::string_view value) {
                    auto m = DecodeRecord<Message>(value, what);
                    if (!m.ok()) return m.status();
                    out.push_back(*std::move(m));
                    return absl::OkStatus();
                  });
    if (!s.ok()) return s;
    return out;
  }

  std::shared_ptr<MemoryState> state_;
  LogTree tree_;
  const absl::Status log_health_;
  std::atomic<uint64_t> uploads_in_flight_{0};
  PendingLog pending_log_{&tree_, &log_health_};
  // Declared last: destroyed first, committing what is queued.
  std::unique_ptr<GroupCommitter> committer_ = std::make_unique<GroupCommitter>(
      [this] { return NewMemoryBatch(state_.get(), &pending_log_); },
      &pending_log_);
};

}  // namespace

std::unique_ptr<MemoryStore> NewMemoryStore() {
  return std::make_unique<MemoryStoreImpl>(std::make_shared<MemoryState>(),
                                           absl::OkStatus());
}

absl::StatusOr<std::unique_ptr<MemoryStore>> RestoreMemoryStore(
    const std::string& backup_dir) {
  auto state = ReadMemoryBackup(backup_dir);
  if (!state.ok()) return state.status();
  absl::Status health = CheckMemoryLog(**state);
  return std::make_unique<MemoryStoreImpl>(*std::move(state),
                                           std::move(health));
}

}  // namespace loupe::storage
