#include "server/storage/postgres/pg_assets.h"

#include <chrono>
#include <random>
#include <string>

#include "base/str_cat.h"

namespace loupe::storage::pg {
namespace {

std::string RawSha(const crypto::Sha256Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string RandomContentId() {
  std::random_device random;
  std::string id(16, '\0');
  for (char& c : id) c = static_cast<char>(random());
  return id;
}

class PgAssetWriter final : public AssetWriter {
 public:
  PgAssetWriter(ConnectionPool* pool, std::atomic<uint64_t>* in_flight)
      : pool_(pool), in_flight_(in_flight), content_id_(RandomContentId()) {
    ++*in_flight_;
  }
  ~PgAssetWriter() override {
    if (!committed_ && chunks_ > 0) {
      // Best effort: what is left is deleted a day later by an open.
      (void)RunRead(
          *pool_, "deleting an abandoned upload",
          [&](pqxx::nontransaction& txn) {
            txn.exec_params("DELETE FROM asset_chunks WHERE content_id = $1",
                            Bytes(content_id_));
            txn.exec_params("DELETE FROM asset_uploads WHERE content_id = $1",
                            Bytes(content_id_));
            return absl::OkStatus();
          });
    }
    --*in_flight_;
  }

  absl::Status Append(std::string_view bytes) override {
    received_ += bytes.size();
    hasher_.Update(bytes);
    while (!bytes.empty()) {
      const size_t take = std::min(bytes.size(), kChunkSize - buffer_.size());
      buffer_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      if (buffer_.size() == kChunkSize) {
        if (auto s = Flush(); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }
  uint64_t bytes_received() const override { return received_; }

  absl::StatusOr<AssetCommit> Commit(uint64_t size,
                                     const crypto::Sha256Digest& sha256,
                                     std::string_view studio_id) override {
    if (received_ != size) {
      return absl::InvalidArgumentError(StrCat("size_bytes: declared ", size,
                                               " bytes but ", received_,
                                               " arrived; nothing stored"));
    }
    if (hasher_.Finish() != sha256) {
      return absl::InvalidArgumentError(
          "sha256: the bytes that arrived have a different digest; nothing "
          "stored");
    }
    if (!buffer_.empty()) {
      if (auto s = Flush(); !s.ok()) return s;
    }
    AssetCommit commit{sha256, size, false};
    absl::Status s = RunSerializable(
        *pool_, "committing an asset", [&](SerializableTxn& txn) {
          commit.deduplicated = false;
          const auto existing =
              txn.exec_params("SELECT content_id FROM assets WHERE sha256 = $1",
                              Bytes(RawSha(sha256)));
          if (!existing.empty()) {
            commit.deduplicated = true;
            txn.exec_params("DELETE FROM asset_chunks WHERE content_id = $1",
                            Bytes(content_id_));
          } else {
            txn.exec_params(
                "INSERT INTO assets (sha256, content_id, size_bytes, "
                "chunk_count) VALUES ($1, $2, $3, $4)",
                Bytes(RawSha(sha256)), Bytes(content_id_),
                static_cast<int64_t>(size), static_cast<int64_t>(chunks_));
          }
          txn.exec_params(
              "INSERT INTO asset_uploaders (sha256, studio_id) VALUES ($1, "
              "$2) ON CONFLICT DO NOTHING",
              Bytes(RawSha(sha256)), Bytes(studio_id));
          txn.exec_params("DELETE FROM asset_uploads WHERE content_id = $1",
                          Bytes(content_id_));
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
    committed_ = true;
    return commit;
  }

 private:
  // Writes the buffer as the next chunk (committed, but invisible: no
  // asset names this content id yet).
  absl::Status Flush() {
    const crypto::Sha256Digest digest = crypto::Sha256::Of(buffer_);
    absl::Status s = RunRead(
        *pool_, "storing an upload's chunk", [&](pqxx::nontransaction& txn) {
          if (chunks_ == 0) {
            txn.exec_params(
                "INSERT INTO asset_uploads (content_id, "
                "started_unix_seconds) VALUES ($1, $2)",
                Bytes(content_id_), NowSeconds());
          }
          txn.exec_params(
              "INSERT INTO asset_chunks (content_id, chunk_index, digest, "
              "bytes) VALUES ($1, $2, $3, $4)",
              Bytes(content_id_), static_cast<int64_t>(chunks_),
              Bytes(RawSha(digest)), Bytes(buffer_));
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
    ++chunks_;
    buffer_.clear();
    return absl::OkStatus();
  }

  ConnectionPool* pool_;
  std::atomic<uint64_t>* in_flight_;
  const std::string content_id_;
  std::string buffer_;
  uint64_t received_ = 0;
  uint64_t chunks_ = 0;
  crypto::Sha256 hasher_;
  bool committed_ = false;
};

class PgAssetReader final : public AssetReader {
 public:
  PgAssetReader(ConnectionPool* pool, const crypto::Sha256Digest& sha256,
                std::string content_id, uint64_t size, uint64_t chunks)
      : pool_(pool),
        sha256_(sha256),
        content_id_(std::move(content_id)),
        size_(size),
        chunks_(chunks) {}

  uint64_t size_bytes() const override { return size_; }
  absl::StatusOr<std::optional<std::string>> NextChunk() override {
    const std::string name = StrCat("asset ", crypto::ToHex(sha256_));
    if (next_ == chunks_) {
      if (hasher_.Finish() != sha256_) {
        return absl::DataLossError(StrCat(name, " fails its SHA-256"));
      }
      return std::nullopt;
    }
    std::optional<std::pair<std::string, std::string>> row;
    absl::Status s = RunRead(
        *pool_, StrCat("reading ", name), [&](pqxx::nontransaction& txn) {
          const auto r = txn.exec_params(
              "SELECT digest, bytes FROM asset_chunks WHERE content_id = $1 "
              "AND chunk_index = $2",
              Bytes(content_id_), static_cast<int64_t>(next_));
          if (!r.empty()) row.emplace(FieldBytes(r[0][0]), FieldBytes(r[0][1]));
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
    if (!row) {
      return absl::DataLossError(
          StrCat(name, ": chunk ", next_, " is missing from storage"));
    }
    if (RawSha(crypto::Sha256::Of(row->second)) != row->first) {
      return absl::DataLossError(
          StrCat(name, ": chunk ", next_, " fails its stored digest"));
    }
    ++next_;
    hasher_.Update(row->second);
    return std::move(row->second);
  }

 private:
  ConnectionPool* pool_;
  const crypto::Sha256Digest sha256_;
  const std::string content_id_;
  const uint64_t size_, chunks_;
  uint64_t next_ = 0;
  crypto::Sha256 hasher_;
};

}  // namespace

std::unique_ptr<AssetWriter> NewPgAssetWriter(
    ConnectionPool* pool, std::atomic<uint64_t>* in_flight) {
  return std::make_unique<PgAssetWriter>(pool, in_flight);
}

absl::StatusOr<std::unique_ptr<AssetReader>> OpenPgAsset(
    ConnectionPool* pool, const crypto::Sha256Digest& sha256) {
  std::unique_ptr<AssetReader> reader;
  absl::Status s =
      RunRead(*pool, "opening an asset", [&](pqxx::nontransaction& txn) {
        const auto r = txn.exec_params(
            "SELECT content_id, size_bytes, chunk_count FROM assets WHERE "
            "sha256 = $1",
            Bytes(RawSha(sha256)));
        if (r.empty()) return absl::OkStatus();
        if (FieldBytes(r[0][0]) == kExternalContentId) {
          return ExternalAssetError(crypto::ToHex(sha256));
        }
        reader = std::make_unique<PgAssetReader>(
            pool, sha256, FieldBytes(r[0][0]),
            static_cast<uint64_t>(r[0][1].as<int64_t>()),
            static_cast<uint64_t>(r[0][2].as<int64_t>()));
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (!reader) {
    return absl::NotFoundError(
        StrCat("sha256: no asset ", crypto::ToHex(sha256)));
  }
  return reader;
}

absl::StatusOr<bool> RecordPgExternalAsset(ConnectionPool* pool,
                                           const crypto::Sha256Digest& sha256,
                                           uint64_t size,
                                           std::string_view studio_id) {
  bool known = false;
  absl::Status s = RunSerializable(
      *pool, "recording an external asset", [&](SerializableTxn& txn) {
        known = !txn.exec_params("SELECT 1 FROM assets WHERE sha256 = $1",
                                 Bytes(RawSha(sha256)))
                     .empty();
        if (!known) {
          txn.exec_params(
              "INSERT INTO assets (sha256, content_id, size_bytes, "
              "chunk_count) VALUES ($1, $2, $3, 0)",
              Bytes(RawSha(sha256)), Bytes(kExternalContentId),
              static_cast<int64_t>(size));
        }
        txn.exec_params(
            "INSERT INTO asset_uploaders (sha256, studio_id) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING",
            Bytes(RawSha(sha256)), Bytes(studio_id));
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return known;
}

absl::Status MarkPgAssetExternal(ConnectionPool* pool,
                                 const crypto::Sha256Digest& sha256) {
  return RunSerializable(
      *pool, "marking an asset external", [&](SerializableTxn& txn) {
        const auto r =
            txn.exec_params("SELECT content_id FROM assets WHERE sha256 = $1",
                            Bytes(RawSha(sha256)));
        if (r.empty()) {
          return absl::NotFoundError(
              StrCat("sha256: no asset ", crypto::ToHex(sha256)));
        }
        const std::string content = FieldBytes(r[0][0]);
        if (content == kExternalContentId) return absl::OkStatus();
        txn.exec_params(
            "UPDATE assets SET content_id = $2, chunk_count = 0 WHERE "
            "sha256 = $1",
            Bytes(RawSha(sha256)), Bytes(kExternalContentId));
        txn.exec_params("DELETE FROM asset_chunks WHERE content_id = $1",
                        Bytes(content));
        return absl::OkStatus();
      });
}

absl::Status DeleteAbandonedUploads(ConnectionPool& pool, int64_t age_seconds) {
  return RunRead(pool, "deleting abandoned uploads",
                 [&](pqxx::nontransaction& txn) {
                   const int64_t before = NowSeconds() - age_seconds;
                   txn.exec_params(
                       "DELETE FROM asset_chunks WHERE content_id IN (SELECT "
                       "content_id FROM asset_uploads WHERE "
                       "started_unix_seconds < $1)",
                       before);
                   txn.exec_params(
                       "DELETE FROM asset_uploads WHERE started_unix_seconds "
                       "< $1",
                       before);
                   return absl::OkStatus();
                 });
}

}  // namespace loupe::storage::pg
