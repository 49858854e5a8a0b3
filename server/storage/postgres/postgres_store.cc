// The PostgreSQL engine (postgres_store.h): reads, the log through its
// tiles, assets, admin; commits go through the group committer with one
// SERIALIZABLE transaction per group (pg_batch.h).
#include "server/storage/postgres/postgres_store.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "base/str_cat.h"
#include "server/storage/group_commit.h"
#include "server/storage/postgres/pg_admin.h"
#include "server/storage/postgres/pg_assets.h"
#include "server/storage/postgres/pg_batch.h"
#include "server/storage/postgres/pg_common.h"
#include "server/storage/postgres/pg_log.h"
#include "server/storage/postgres/pg_schema.h"
#include "server/storage/record.h"

namespace loupe::storage {
namespace {

using pg::Bytes;
using pg::FieldBytes;

constexpr int64_t kAbandonedUploadSeconds = 24 * 3600;

std::string RawSha(const crypto::Sha256Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

class PostgresStore final : public Store {
 public:
  PostgresStore(std::unique_ptr<pg::ConnectionPool> pool,
                std::unique_ptr<pg::TileTree> tree, absl::Status health,
                pg::Dialect dialect)
      : pool_(std::move(pool)),
        tree_(std::move(tree)),
        log_health_(std::move(health)),
        dialect_(dialect) {}

  void Commit(Work work, Done done) override {
    committer_->Submit(std::move(work), std::move(done));
  }

  absl::StatusOr<v1::Piece> GetPiece(std::string_view piece_id) override {
    auto raw = One("SELECT record FROM pieces WHERE piece_id = $1",
                   "reading a piece", Bytes(piece_id));
    if (!raw.ok()) return raw.status();
    if (!*raw) {
      return absl::NotFoundError(StrCat("piece_id: no piece ", piece_id));
    }
    return DecodeRecord<v1::Piece>(**raw, "piece");
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
    auto raw = One(
        "SELECT record FROM versions WHERE piece_id = $1 AND version_number = "
        "$2",
        "reading a version", Bytes(piece_id), static_cast<int64_t>(number));
    if (!raw.ok()) return raw.status();
    if (!*raw) {
      return absl::NotFoundError(
          StrCat("number: piece ", piece_id, " has no version ", number));
    }
    return DecodeRecord<v1::TwinVersion>(**raw, "version");
  }
  absl::StatusOr<VersionPage> ListVersions(std::string_view piece_id,
                                           uint32_t after,
                                           size_t limit) override {
    if (auto p = GetPiece(piece_id); !p.ok()) return p.status();
    VersionPage page;
    auto rows = All(
        "SELECT record FROM versions WHERE piece_id = $1 AND version_number > "
        "$2 ORDER BY version_number LIMIT $3",
        "listing versions", Bytes(piece_id), static_cast<int64_t>(after),
        static_cast<int64_t>(limit) + 1);
    if (!rows.ok()) return rows.status();
    for (const auto& raw : *rows) {
      if (page.versions.size() == limit) {
        if (limit > 0) page.last_number = page.versions.back().number();
        break;
      }
      auto v = DecodeRecord<v1::TwinVersion>(raw, "version");
      if (!v.ok()) return v.status();
      page.versions.push_back(*std::move(v));
    }
    return page;
  }
  absl::StatusOr<PiecePage> ListPieces(std::string_view studio_id,
                                       std::string_view start_after,
                                       size_t limit) override {
    const auto rows =
        studio_id.empty()
            ? All("SELECT record FROM pieces WHERE piece_id > $1 ORDER BY "
                  "piece_id LIMIT $2",
                  "listing pieces", Bytes(start_after),
                  static_cast<int64_t>(limit) + 1)
            : All("SELECT record FROM pieces WHERE studio_id = $1 AND "
                  "piece_id > $2 ORDER BY piece_id LIMIT $3",
                  "listing a studio's pieces", Bytes(studio_id),
                  Bytes(start_after), static_cast<int64_t>(limit) + 1);
    if (!rows.ok()) return rows.status();
    PiecePage page;
    for (const auto& raw : *rows) {
      if (page.pieces.size() == limit) {
        if (limit > 0) page.last_key = page.pieces.back().id();
        break;
      }
      auto p = DecodeRecord<v1::Piece>(raw, "piece");
      if (!p.ok()) return p.status();
      page.pieces.push_back(*std::move(p));
    }
    return page;
  }
  absl::StatusOr<v1::Certificate> GetCertificate(std::string_view id) override {
    auto raw = One("SELECT record FROM certificates WHERE certificate_id = $1",
                   "reading a certificate", Bytes(id));
    if (!raw.ok()) return raw.status();
    if (!*raw) {
      return absl::NotFoundError(StrCat("certificate_id: no certificate ", id));
    }
    return DecodeRecord<v1::Certificate>(**raw, "certificate");
  }
  absl::StatusOr<v1::GeometryCheck> GetCheck(
      std::string_view check_id) override {
    auto raw = One("SELECT record FROM checks WHERE check_id = $1",
                   "reading a check", Bytes(check_id));
    if (!raw.ok()) return raw.status();
    if (!*raw) {
      return absl::NotFoundError(StrCat("check_id: no check ", check_id));
    }
    return DecodeRecord<v1::GeometryCheck>(**raw, "check");
  }
  absl::StatusOr<std::optional<v1::Certificate>> GetCertificateOf(
      std::string_view piece_id, uint32_t version) override {
    auto raw =
        One("SELECT record FROM certificates WHERE piece_id = $1 AND "
            "version_number = $2",
            "reading a certificate", Bytes(piece_id),
            static_cast<int64_t>(version));
    if (!raw.ok()) return raw.status();
    if (!*raw) return std::nullopt;
    auto c = DecodeRecord<v1::Certificate>(**raw, "certificate");
    if (!c.ok()) return c.status();
    return *std::move(c);
  }
  absl::StatusOr<std::vector<v1::Certificate>> ListCertificates(
      std::string_view piece_id) override {
    return ListOf<v1::Certificate>(
        piece_id,
        "SELECT record FROM certificates WHERE piece_id = $1 ORDER BY "
        "version_number",
        "certificate");
  }
  absl::StatusOr<std::vector<v1::OwnerRecord>> ListOwners(
      std::string_view piece_id) override {
    return ListOf<v1::OwnerRecord>(
        piece_id,
        "SELECT record FROM owners WHERE piece_id = $1 ORDER BY "
        "owner_sequence",
        "owner");
  }
  absl::StatusOr<bool> IsAssetUploadedBy(const crypto::Sha256Digest& sha256,
                                         std::string_view studio_id) override {
    auto raw = One(
        "SELECT sha256 FROM asset_uploaders WHERE sha256 = $1 AND studio_id = "
        "$2",
        "reading an asset's uploaders", Bytes(RawSha(sha256)),
        Bytes(studio_id));
    if (!raw.ok()) return raw.status();
    return raw->has_value();
  }
  absl::StatusOr<bool> IsAssetOfPiece(const crypto::Sha256Digest& sha256,
                                      std::string_view piece_id) override {
    auto raw = One(
        "SELECT sha256 FROM piece_assets WHERE piece_id = $1 AND sha256 = $2",
        "reading a piece's assets", Bytes(piece_id), Bytes(RawSha(sha256)));
    if (!raw.ok()) return raw.status();
    return raw->has_value();
  }

  absl::Status LogHealth() override { return log_health_; }
  absl::StatusOr<uint64_t> LogSize() override {
    if (!log_health_.ok()) return log_health_;
    return tree_->Refresh();
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
    return pg::ReadLogEntries(*pool_, *tree_, start, count);
  }
  absl::StatusOr<std::optional<CheckpointRecord>> LatestCheckpoint() override {
    if (!log_health_.ok()) return log_health_;
    std::optional<CheckpointRecord> out;
    absl::Status s =
        pg::RunRead(*pool_, "reading the checkpoint",
                    [&](pqxx::nontransaction& txn) -> absl::Status {
                      auto c = pg::ReadCheckpoint(txn);
                      if (!c.ok()) return c.status();
                      out = *std::move(c);
                      return absl::OkStatus();
                    });
    if (!s.ok()) return s;
    return out;
  }
  absl::Status SaveCheckpoint(const CheckpointRecord& record) override {
    if (!log_health_.ok()) return log_health_;
    return pg::SaveCheckpoint(*pool_, record);
  }

  absl::StatusOr<bool> TryHoldPublisherLease(
      std::string_view holder, std::chrono::milliseconds ttl) override {
    return pg::HoldPublisherLease(*pool_, holder, ttl);
  }

  absl::StatusOr<std::unique_ptr<AssetWriter>> BeginUpload() override {
    return pg::NewPgAssetWriter(pool_.get(), &uploads_in_flight_);
  }
  absl::StatusOr<std::unique_ptr<AssetReader>> OpenAsset(
      const crypto::Sha256Digest& sha256) override {
    return pg::OpenPgAsset(pool_.get(), sha256);
  }
  absl::StatusOr<bool> RecordExternalAsset(
      const crypto::Sha256Digest& sha256, uint64_t size,
      std::string_view studio_id) override {
    return pg::RecordPgExternalAsset(pool_.get(), sha256, size, studio_id);
  }
  absl::Status MarkAssetExternal(const crypto::Sha256Digest& sha256) override {
    return pg::MarkPgAssetExternal(pool_.get(), sha256);
  }

  absl::StatusOr<ScrubReport> Scrub() override {
    return pg::ScrubPostgres(*pool_);
  }
  absl::Status Backup(const std::string& directory) override {
    return pg::BackupPostgres(*pool_, directory);
  }
  absl::StatusOr<Stats> CountStats() override {
    auto n = One("SELECT COUNT(*)::TEXT FROM assets", "counting assets");
    if (!n.ok()) return n.status();
    return Stats{std::stoull(n->value_or("0")), uploads_in_flight_.load()};
  }

 private:
  // The first column of every row of `sql` (bytes, or text for non-BYTEA
  // columns).
  template <typename... Args>
  absl::StatusOr<std::vector<std::string>> All(const char* sql,
                                               std::string_view doing,
                                               Args&&... args) {
    std::vector<std::string> out;
    absl::Status s = pg::RunRead(*pool_, doing, [&](pqxx::nontransaction& txn) {
      const auto r = txn.exec_params(sql, std::forward<Args>(args)...);
      const bool bytes = r.columns() > 0 && r.column_type(0) == 17;
      for (const auto& row : r) {
        out.push_back(bytes ? FieldBytes(row[0]) : std::string(row[0].c_str()));
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    return out;
  }
  template <typename... Args>
  absl::StatusOr<std::optional<std::string>> One(const char* sql,
                                                 std::string_view doing,
                                                 Args&&... args) {
    auto rows = All(sql, doing, std::forward<Args>(args)...);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::nullopt;
    return std::move(rows->front());
  }
  template <typename Message>
  absl::StatusOr<std::vector<Message>> ListOf(std::string_view piece_id,
                                              const char* sql,
                                              std::string_view what) {
    if (auto p = GetPiece(piece_id); !p.ok()) return p.status();
    auto rows = All(sql, StrCat("listing ", what, "s"), Bytes(piece_id));
    if (!rows.ok()) return rows.status();
    std::vector<Message> out;
    for (const auto& raw : *rows) {
      auto m = DecodeRecord<Message>(raw, what);
      if (!m.ok()) return m.status();
      out.push_back(*std::move(m));
    }
    return out;
  }

  std::unique_ptr<pg::ConnectionPool> pool_;
  std::unique_ptr<pg::TileTree> tree_;
  const absl::Status log_health_;
  const pg::Dialect dialect_;
  std::atomic<uint64_t> uploads_in_flight_{0};
  // Declared last: destroyed first, committing what is queued.
  std::unique_ptr<GroupCommitter> committer_ = std::make_unique<GroupCommitter>(
      [this] {
        return pg::NewPgBatch(pool_.get(), tree_.get(), &log_health_, dialect_);
      },
      nullptr);
};

}  // namespace

absl::StatusOr<PostgresOptions> PostgresOptionsFromConfig(
    const v1::PostgresStorage& config) {
  PostgresOptions options;
  options.apply_migrations = config.apply_migrations();
  if (!config.url().empty()) {
    options.url = config.url();
  } else if (!config.url_file().empty()) {
    std::ifstream in(config.url_file());
    if (!in) {
      return absl::InvalidArgumentError(
          StrCat("storage.postgres.url_file: cannot read ", config.url_file()));
    }
    std::stringstream text;
    text << in.rdbuf();
    options.url = std::string(absl::StripAsciiWhitespace(text.str()));
  }
  if (options.url.empty()) {
    return absl::InvalidArgumentError(
        "storage.postgres: set url or url_file (the database's connection "
        "URL)");
  }
  if (config.max_connections() > 0) {
    options.max_connections = config.max_connections();
  }
  return options;
}

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(
    const PostgresOptions& options) {
  auto pool = std::make_unique<pg::ConnectionPool>(
      options.url, std::max<size_t>(options.max_connections, 2));
  if (options.apply_migrations) {
    if (auto v = pg::ApplyMigrations(*pool); !v.ok()) return v.status();
  }
  if (auto s = pg::CheckSchemaVersion(*pool); !s.ok()) return s;
  auto dialect = pg::DetectDialect(*pool);
  if (!dialect.ok()) return dialect.status();
  if (auto s = pg::DeleteAbandonedUploads(*pool, kAbandonedUploadSeconds);
      !s.ok()) {
    return s;
  }
  auto tree = std::make_unique<pg::TileTree>(pool.get());
  absl::Status health;
  if (auto s = pg::CheckLogAtOpen(*pool, *tree,
                                  options.verify_log_entries_at_open, &health);
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<Store>(std::make_unique<PostgresStore>(
      std::move(pool), std::move(tree), std::move(health), *dialect));
}

absl::StatusOr<int> MigratePostgresSchema(const std::string& url) {
  pg::ConnectionPool pool(url, 2);
  return pg::ApplyMigrations(pool);
}

absl::Status RestorePostgresStore(const std::string& backup_dir,
                                  const std::string& url) {
  pg::ConnectionPool pool(url, 2);
  if (auto v = pg::ApplyMigrations(pool); !v.ok()) return v.status();
  return pg::RestorePostgres(pool, backup_dir);
}

}  // namespace loupe::storage
