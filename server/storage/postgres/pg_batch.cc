#include "server/storage/postgres/pg_batch.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/str_cat.h"
#include "server/storage/record.h"

namespace loupe::storage::pg {
namespace {

std::string RawSha(const crypto::Sha256Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

template <typename Message>
absl::StatusOr<std::optional<Message>> Decode(
    const std::optional<std::string>& raw, std::string_view what) {
  if (!raw) return std::nullopt;
  auto parsed = DecodeRecord<Message>(*raw, what);
  if (!parsed.ok()) return parsed.status();
  return *std::move(parsed);
}

class PgBatch final : public GroupBatch, public Transaction {
 public:
  PgBatch(ConnectionPool* pool, TileTree* tree, const absl::Status* health,
          Dialect dialect)
      : pool_(pool), tree_(tree), health_(health), dialect_(dialect) {}

  Transaction& transaction() override { return *this; }
  void SetSavePoint() override { save_points_.push_back(undo_.size()); }
  void RollbackToSavePoint() override {
    const size_t mark = save_points_.back();
    save_points_.pop_back();
    while (undo_.size() > mark) {
      undo_.back()();
      undo_.pop_back();
    }
  }
  void PopSavePoint() override { save_points_.pop_back(); }
  bool MustRetry() const override { return IsRetryable(failed_); }
  absl::Status Write() override;

  absl::StatusOr<std::optional<v1::Piece>> FindPiece(
      std::string_view piece_id) override {
    if (auto it = pieces_.find(std::string(piece_id)); it != pieces_.end()) {
      return Decode<v1::Piece>(it->second.record, "piece");
    }
    auto raw =
        Select1(pg::statements::kFindPiece, "reading a piece", Bytes(piece_id));
    if (!raw.ok()) return raw.status();
    return Decode<v1::Piece>(*raw, "piece");
  }
  absl::StatusOr<std::optional<std::string>> FindPieceByReference(
      std::string_view studio_id, std::string_view reference) override {
    auto key = std::make_pair(std::string(studio_id), std::string(reference));
    if (auto it = references_.find(key); it != references_.end()) {
      return it->second;
    }
    return Select1(pg::statements::kFindPieceByReference,
                   "finding a piece by reference", Bytes(studio_id),
                   Bytes(reference));
  }
  absl::StatusOr<std::optional<v1::TwinVersion>> FindVersion(
      std::string_view piece_id, uint32_t number) override {
    auto key = std::make_pair(std::string(piece_id), number);
    if (auto it = versions_.find(key); it != versions_.end()) {
      return Decode<v1::TwinVersion>(it->second, "version");
    }
    auto raw = Select1(pg::statements::kFindVersion, "reading a version",
                       Bytes(piece_id), static_cast<int64_t>(number));
    if (!raw.ok()) return raw.status();
    return Decode<v1::TwinVersion>(*raw, "version");
  }
  absl::StatusOr<std::optional<v1::Certificate>> FindCertificate(
      std::string_view piece_id, uint32_t version) override {
    auto key = std::make_pair(std::string(piece_id), version);
    if (auto it = certificates_.find(key); it != certificates_.end()) {
      return Decode<v1::Certificate>(it->second.second, "certificate");
    }
    auto raw =
        Select1(pg::statements::kFindCertificate, "reading a certificate",
                Bytes(piece_id), static_cast<int64_t>(version));
    if (!raw.ok()) return raw.status();
    return Decode<v1::Certificate>(*raw, "certificate");
  }
  absl::StatusOr<std::optional<uint64_t>> FindAssetSize(
      const crypto::Sha256Digest& sha256) override {
    auto raw = Select1(pg::statements::kFindAssetSize,
                       "reading an asset's size", Bytes(RawSha(sha256)));
    if (!raw.ok()) return raw.status();
    if (!*raw) return std::nullopt;
    return static_cast<uint64_t>(std::stoull(**raw));
  }
  absl::StatusOr<bool> IsAssetUploadedBy(const crypto::Sha256Digest& sha256,
                                         std::string_view studio_id) override {
    auto raw = Select1(pg::statements::kIsAssetUploadedBy,
                       "reading an asset's uploaders", Bytes(RawSha(sha256)),
                       Bytes(studio_id));
    if (!raw.ok()) return raw.status();
    return raw->has_value();
  }
  absl::StatusOr<std::optional<v1::GeometryCheck>> FindCheck(
      std::string_view check_id) override {
    if (auto it = checks_.find(std::string(check_id)); it != checks_.end()) {
      return Decode<v1::GeometryCheck>(it->second.second, "check");
    }
    auto raw =
        Select1(pg::statements::kFindCheck, "reading a check", Bytes(check_id));
    if (!raw.ok()) return raw.status();
    return Decode<v1::GeometryCheck>(*raw, "check");
  }

  void InsertPiece(const v1::Piece& piece) override {
    UpdatePiece(piece);
    Put(references_,
        std::make_pair(piece.studio_id(), piece.studio_reference()),
        piece.id());
  }
  void UpdatePiece(const v1::Piece& piece) override {
    Put(pieces_, piece.id(),
        PieceRow{piece.studio_id(), piece.studio_reference(),
                 EncodeRecord(piece)});
  }
  void InsertVersion(const v1::TwinVersion& version) override {
    Put(versions_, std::make_pair(version.piece_id(), version.number()),
        EncodeRecord(version));
    for (const auto& asset : version.assets()) {
      auto sha = crypto::ParseSha256Hex(asset.sha256());
      if (sha.ok()) {
        Put(piece_assets_, std::make_pair(version.piece_id(), RawSha(*sha)),
            true);
      }
    }
  }
  void InsertCertificate(const v1::Certificate& certificate) override {
    Put(certificates_,
        std::make_pair(certificate.piece_id(), certificate.version()),
        std::make_pair(certificate.id(), EncodeRecord(certificate)));
  }
  void InsertOwner(std::string_view piece_id,
                   const v1::OwnerRecord& owner) override {
    Put(owners_, std::make_pair(std::string(piece_id), owner.sequence()),
        EncodeRecord(owner));
  }
  void InsertCheck(const v1::GeometryCheck& check) override {
    Put(checks_, check.check_id(),
        std::make_pair(check.piece_id(), EncodeRecord(check)));
  }
  absl::StatusOr<uint64_t> AppendLog(std::string_view entry) override {
    if (!health_->ok()) return *health_;
    if (!base_) {
      auto next =
          Select1(pg::statements::kLockCoordinator, "sequencing log entries");
      if (!next.ok()) return next.status();
      if (!*next) {
        return absl::DataLossError("transparency log: no coordinator row");
      }
      base_ = std::stoull(**next);
    }
    const uint64_t index = *base_ + entries_.size();
    entries_.emplace_back(entry);
    leaves_.push_back(crypto::LeafHash(entry));
    undo_.push_back([this] {
      entries_.pop_back();
      leaves_.pop_back();
    });
    return index;
  }

 private:
  struct PieceRow {
    std::string studio, reference, record;
  };
  using Undo = std::function<void()>;

  // Records how to undo the write, then writes.
  template <typename Map, typename Key, typename Value>
  void Put(Map& map, Key key, Value value) {
    auto it = map.find(key);
    if (it == map.end()) {
      undo_.push_back([&map, key] { map.erase(key); });
      map.emplace(std::move(key), std::move(value));
    } else {
      undo_.push_back([&map, key, old = it->second] { map[key] = old; });
      it->second = std::move(value);
    }
  }

  // The group's transaction, begun on first use with the dialect's writer
  // exclusion as its first statement (before the snapshot). Throws.
  SerializableTxn& Txn() {
    if (!txn_) {
      auto lease = pool_->Acquire();
      if (!lease.ok()) {
        throw pqxx::broken_connection(std::string(lease.status().message()));
      }
      lease_.emplace(*std::move(lease));
      txn_ = std::make_unique<SerializableTxn>(**lease_);
      if (const char* exclude = WriterExclusionSql(dialect_)) {
        txn_->exec(exclude);
      }
    }
    return *txn_;
  }

  // The first column of the first row (bytes) of prepared statement
  // `name` (pg::statements), or nullopt. Once a
  // statement failed the transaction is dead: every later call returns
  // that failure (and MustRetry() says whether to run the group again).
  template <typename... Args>
  absl::StatusOr<std::optional<std::string>> Select1(const char* name,
                                                     std::string_view doing,
                                                     Args&&... args) {
    if (!failed_.ok()) return failed_;
    try {
      const auto r = Txn().exec_prepared(name, std::forward<Args>(args)...);
      if (r.empty()) return std::nullopt;
      if (r.column_type(0) == 17) return FieldBytes(r[0][0]);  // BYTEA.
      return std::string(r[0][0].c_str());
    } catch (const std::exception& e) {
      failed_ = FromException(e, doing);
      return failed_;
    }
  }

  // Add the group's rows to `script`, sent in one round trip by Write().
  void WriteRecords(SqlScript& script);
  void WriteLog(SerializableTxn& txn, SqlScript& script);

  ConnectionPool* pool_;
  TileTree* tree_;
  const absl::Status* health_;
  const Dialect dialect_;
  std::optional<ConnectionPool::Lease> lease_;
  std::unique_ptr<SerializableTxn> txn_;
  absl::Status failed_;

  std::map<std::string, PieceRow> pieces_;
  std::map<std::pair<std::string, std::string>, std::string> references_;
  std::map<std::pair<std::string, uint32_t>, std::string> versions_;
  std::map<std::pair<std::string, std::string>, bool> piece_assets_;
  std::map<std::pair<std::string, uint32_t>,
           std::pair<std::string, std::string>>
      certificates_;
  std::map<std::pair<std::string, uint32_t>, std::string> owners_;
  // check id -> (piece id, record).
  std::map<std::string, std::pair<std::string, std::string>> checks_;
  std::optional<uint64_t> base_;  // The coordinator's next_index, locked.
  std::vector<std::string> entries_;
  std::vector<crypto::Hash> leaves_;
  std::vector<Undo> undo_;
  std::vector<size_t> save_points_;
};

void PgBatch::WriteRecords(SqlScript& script) {
  using S = SqlScript;
  std::vector<std::string> rows;
  for (const auto& [id, row] : pieces_) {
    rows.push_back(S::Row({S::Bytea(id), S::Bytea(row.studio),
                           S::Bytea(row.reference), S::Bytea(row.record)}));
  }
  script.Insert(
      "INSERT INTO pieces (piece_id, studio_id, studio_reference, record) "
      "VALUES",
      rows, " ON CONFLICT (piece_id) DO UPDATE SET record = EXCLUDED.record");
  rows.clear();
  for (const auto& [key, record] : versions_) {
    rows.push_back(
        S::Row({S::Bytea(key.first), S::Int(key.second), S::Bytea(record)}));
  }
  script.Insert(
      "INSERT INTO versions (piece_id, version_number, record) VALUES", rows);
  rows.clear();
  for (const auto& [key, unused] : piece_assets_) {
    rows.push_back(S::Row({S::Bytea(key.first), S::Bytea(key.second)}));
  }
  script.Insert("INSERT INTO piece_assets (piece_id, sha256) VALUES", rows,
                " ON CONFLICT DO NOTHING");
  rows.clear();
  for (const auto& [key, row] : certificates_) {
    rows.push_back(S::Row({S::Bytea(key.first), S::Int(key.second),
                           S::Bytea(row.first), S::Bytea(row.second)}));
  }
  script.Insert(
      "INSERT INTO certificates (piece_id, version_number, certificate_id, "
      "record) VALUES",
      rows);
  rows.clear();
  for (const auto& [key, record] : owners_) {
    rows.push_back(
        S::Row({S::Bytea(key.first), S::Int(key.second), S::Bytea(record)}));
  }
  script.Insert("INSERT INTO owners (piece_id, owner_sequence, record) VALUES",
                rows);
  rows.clear();
  for (const auto& [id, row] : checks_) {
    rows.push_back(
        S::Row({S::Bytea(id), S::Bytea(row.first), S::Bytea(row.second)}));
  }
  script.Insert("INSERT INTO checks (check_id, piece_id, record) VALUES", rows);
}

void PgBatch::WriteLog(SerializableTxn& txn, SqlScript& script) {
  if (entries_.empty()) return;
  std::vector<std::string> rows;
  rows.reserve(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    rows.push_back(SqlScript::Row(
        {SqlScript::Int(*base_ + i), SqlScript::Bytea(entries_[i])}));
  }
  script.Insert("INSERT INTO log_entries (entry_index, entry) VALUES", rows);
  if (auto s = AppendTiles(txn, *base_, leaves_, script); !s.ok()) {
    throw std::runtime_error(std::string(s.message()));
  }
  script.Add(StrCat("UPDATE log_coordinator SET next_index = ",
                    *base_ + entries_.size(), " WHERE id = 0"));
}

absl::Status PgBatch::Write() {
  if (!failed_.ok()) return failed_;
  const bool nothing = pieces_.empty() && versions_.empty() &&
                       certificates_.empty() && owners_.empty() &&
                       checks_.empty() && entries_.empty();
  if (nothing && !txn_) return absl::OkStatus();
  try {
    SerializableTxn& txn = Txn();
    SqlScript script;
    WriteRecords(script);
    WriteLog(txn, script);
    script.Run(txn);
    txn.commit();
  } catch (const std::exception& e) {
    failed_ = FromException(e, "committing a group of writes");
    return failed_;
  }
  if (!entries_.empty()) tree_->Grew(*base_ + entries_.size());
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<GroupBatch> NewPgBatch(ConnectionPool* pool, TileTree* tree,
                                       const absl::Status* health,
                                       Dialect dialect) {
  return std::make_unique<PgBatch>(pool, tree, health, dialect);
}

}  // namespace loupe::storage::pg
