#include "server/storage/rocks/rocks_transaction.h"

#include "base/str_cat.h"
#include "server/storage/keys.h"
#include "server/storage/rocks/rocks_assets.h"

namespace loupe::storage {
namespace {

rocksdb::Slice AsSlice(std::string_view s) { return {s.data(), s.size()}; }

class RocksBatch final : public GroupBatch, public Transaction {
 public:
  RocksBatch(RocksDb* db, PendingLog* log)
      : db_(*db),
        log_(log),
        batch_(rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true) {}

  Transaction& transaction() override { return *this; }
  void SetSavePoint() override { batch_.SetSavePoint(); }
  void RollbackToSavePoint() override { (void)batch_.RollbackToSavePoint(); }
  void PopSavePoint() override { (void)batch_.PopSavePoint(); }
  absl::Status Write() override {
    if (batch_.GetWriteBatch()->Count() == 0) return absl::OkStatus();
    return FromRocks(db_.db->Write(db_.durable, batch_.GetWriteBatch()),
                     "committing");
  }

  absl::StatusOr<std::optional<v1::Piece>> FindPiece(
      std::string_view piece_id) override {
    return Find<v1::Piece>(db_.pieces, piece_id, "piece");
  }
  absl::StatusOr<std::optional<std::string>> FindPieceByReference(
      std::string_view studio_id, std::string_view reference) override {
    return Get(db_.index, keys::StudioReference(studio_id, reference));
  }
  absl::StatusOr<std::optional<v1::TwinVersion>> FindVersion(
      std::string_view piece_id, uint32_t number) override {
    return Find<v1::TwinVersion>(db_.versions, keys::Version(piece_id, number),
                                 "version");
  }
  absl::StatusOr<std::optional<v1::Certificate>> FindCertificate(
      std::string_view piece_id, uint32_t version) override {
    return Find<v1::Certificate>(
        db_.certificates, keys::Version(piece_id, version), "certificate");
  }
  absl::StatusOr<std::optional<uint64_t>> FindAssetSize(
      const crypto::Sha256Digest& sha256) override {
    auto size = StoredAssetSize(db_, sha256);
    if (absl::IsNotFound(size.status())) return std::nullopt;
    if (!size.ok()) return size.status();
    return *size;
  }
  absl::StatusOr<bool> IsAssetUploadedBy(const crypto::Sha256Digest& sha256,
                                         std::string_view studio_id) override {
    auto v = Get(db_.index, keys::AssetOwner(sha256, studio_id));
    if (!v.ok()) return v.status();
    return v->has_value();
  }
  absl::StatusOr<std::optional<v1::GeometryCheck>> FindCheck(
      std::string_view check_id) override {
    return Find<v1::GeometryCheck>(db_.index, keys::Check(check_id), "check");
  }

  void InsertPiece(const v1::Piece& piece) override {
    UpdatePiece(piece);
    Put(db_.index,
        keys::StudioReference(piece.studio_id(), piece.studio_reference()),
        piece.id());
    Put(db_.index, keys::StudioPiece(piece.studio_id(), piece.id()), "");
  }
  void UpdatePiece(const v1::Piece& piece) override {
    Put(db_.pieces, piece.id(), EncodeRecord(piece));
  }
  void InsertVersion(const v1::TwinVersion& version) override {
    Put(db_.versions, keys::Version(version.piece_id(), version.number()),
        EncodeRecord(version));
    for (const auto& asset : version.assets()) {
      auto sha = crypto::ParseSha256Hex(asset.sha256());
      if (sha.ok())
        Put(db_.index, keys::PieceAsset(version.piece_id(), *sha), "");
    }
  }
  void InsertCertificate(const v1::Certificate& certificate) override {
    const std::string key =
        keys::Version(certificate.piece_id(), certificate.version());
    Put(db_.certificates, key, EncodeRecord(certificate));
    Put(db_.index, keys::CertificateById(certificate.id()), key);
  }
  void InsertOwner(std::string_view piece_id,
                   const v1::OwnerRecord& owner) override {
    Put(db_.index, keys::Owner(piece_id, owner.sequence()),
        EncodeRecord(owner));
  }
  void InsertCheck(const v1::GeometryCheck& check) override {
    Put(db_.index, keys::Check(check.check_id()), EncodeRecord(check));
  }
  absl::StatusOr<uint64_t> AppendLog(std::string_view entry) override {
    if (log_ == nullptr) {
      return absl::InternalError("this store has no transparency log");
    }
    auto reserved = log_->Reserve(entry);
    if (!reserved.ok()) return reserved.status();
    std::string value(reinterpret_cast<const char*>(reserved->leaf.data()),
                      reserved->leaf.size());
    value.append(entry);
    Put(db_.log, keys::LogEntry(reserved->index), value);
    return reserved->index;
  }

 private:
  absl::StatusOr<std::optional<std::string>> Get(
      rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
    std::string value;
    auto s = batch_.GetFromBatchAndDB(db_.db, rocksdb::ReadOptions(), cf,
                                      AsSlice(key), &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) return FromRocks(s, "reading");
    return value;
  }
  template <typename Message>
  absl::StatusOr<std::optional<Message>> Find(rocksdb::ColumnFamilyHandle* cf,
                                              std::string_view key,
                                              std::string_view what) {
    auto raw = Get(cf, key);
    if (!raw.ok()) return raw.status();
    if (!raw->has_value()) return std::nullopt;
    auto parsed = ParseStored<Message>(**raw, what);
    if (!parsed.ok()) return parsed.status();
    return *std::move(parsed);
  }
  void Put(rocksdb::ColumnFamilyHandle* cf, std::string_view key,
           std::string_view value) {
    batch_.Put(cf, AsSlice(key), AsSlice(value));
  }

  RocksDb& db_;
  PendingLog* log_;
  rocksdb::WriteBatchWithIndex batch_;
};

}  // namespace

std::unique_ptr<GroupBatch> NewRocksBatch(RocksDb* db, PendingLog* log) {
  return std::make_unique<RocksBatch>(db, log);
}

}  // namespace loupe::storage
