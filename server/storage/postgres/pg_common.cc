#include "server/storage/postgres/pg_common.h"

#include <algorithm>
#include <utility>

#include "absl/strings/cord.h"
#include "base/str_cat.h"

namespace loupe::storage::pg {
namespace {

constexpr char kRetryPayload[] = "loupe.storage/serialization-conflict";

struct PreparedSql {
  const char* name;
  const char* sql;
};
constexpr PreparedSql kPrepared[] = {
    {statements::kFindPiece, "SELECT record FROM pieces WHERE piece_id = $1"},
    {statements::kFindPieceByReference,
     "SELECT piece_id FROM pieces WHERE studio_id = $1 AND "
     "studio_reference = $2"},
    {statements::kFindVersion,
     "SELECT record FROM versions WHERE piece_id = $1 AND "
     "version_number = $2"},
    {statements::kFindCertificate,
     "SELECT record FROM certificates WHERE piece_id = $1 AND "
     "version_number = $2"},
    {statements::kFindAssetSize,
     "SELECT size_bytes::TEXT FROM assets WHERE sha256 = $1"},
    {statements::kIsAssetUploadedBy,
     "SELECT 'x'::BYTEA FROM asset_uploaders WHERE sha256 = $1 AND "
     "studio_id = $2"},
    {statements::kFindCheck, "SELECT record FROM checks WHERE check_id = $1"},
    {statements::kLockCoordinator,
     "SELECT next_index::TEXT FROM log_coordinator WHERE id = 0 FOR "
     "UPDATE"},
};

}  // namespace

absl::Status RetryableAbort(std::string_view what) {
  absl::Status s = absl::AbortedError(
      StrCat("storage: ", what,
             " conflicted with a concurrent transaction (SQLSTATE 40001)"));
  s.SetPayload(kRetryPayload, absl::Cord("1"));
  return s;
}

bool IsRetryable(const absl::Status& s) {
  return s.GetPayload(kRetryPayload).has_value();
}

absl::Status FromException(const std::exception& e, std::string_view doing) {
  if (dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr ||
      dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr) {
    return RetryableAbort(doing);
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    // Some engines report conflicts under the generic class.
    if (sql->sqlstate() == "40001" || sql->sqlstate() == "40P01") {
      return RetryableAbort(doing);
    }
    if (sql->sqlstate().starts_with("08") ||
        sql->sqlstate().starts_with("57P")) {
      return absl::UnavailableError(
          StrCat("storage: ", doing, ": the database went away: ", e.what()));
    }
    return absl::InternalError(StrCat("storage: ", doing, ": ", e.what()));
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError(
        StrCat("storage: ", doing, ": the database went away: ", e.what()));
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return absl::UnavailableError(StrCat(
        "storage: ", doing, ": the commit's outcome is unknown: ", e.what()));
  }
  return absl::InternalError(StrCat("storage: ", doing, ": ", e.what()));
}

std::string SqlScript::Bytea(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "E'\\\\x";
  out.reserve(out.size() + 2 * bytes.size() + 9);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  out += "'::BYTEA";
  return out;
}

std::string SqlScript::Row(std::initializer_list<std::string> values) {
  std::string out = "(";
  for (const auto& v : values) {
    if (out.size() > 1) out += ", ";
    out += v;
  }
  out += ")";
  return out;
}

void SqlScript::Insert(std::string_view head,
                       const std::vector<std::string>& rows,
                       std::string_view tail) {
  if (rows.empty()) return;
  sql_.append(head);
  for (size_t i = 0; i < rows.size(); ++i) {
    sql_ += i == 0 ? " " : ", ";
    sql_ += rows[i];
  }
  sql_.append(tail);
  sql_ += ";\n";
}

void SqlScript::Add(std::string_view statement) {
  sql_.append(statement);
  sql_ += ";\n";
}

void SqlScript::Run(pqxx::transaction_base& txn) {
  if (sql_.empty()) return;
  txn.exec(sql_);
  sql_.clear();
}

crypto::Hash HashAt(std::string_view bytes) {
  crypto::Hash h{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), h.size()), h.begin());
  return h;
}

ConnectionPool::Lease::~Lease() {
  if (c_ != nullptr) pool_->Return(std::move(c_));
}

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::Acquire() {
  {
    std::unique_lock lock(mu_);
    freed_.wait(lock, [this] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c));
    }
    ++open_;
  }
  try {
    auto c = std::make_unique<pqxx::connection>(url_);
    for (const auto& p : kPrepared) c->prepare(p.name, p.sql);
    return Lease(this, std::move(c));
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mu_);
      --open_;
    }
    freed_.notify_one();
    return absl::UnavailableError(
        StrCat("storage: cannot connect to PostgreSQL: ", e.what()));
  }
}

void ConnectionPool::Return(std::unique_ptr<pqxx::connection> c) {
  {
    std::lock_guard lock(mu_);
    if (c->is_open()) {
      idle_.push_back(std::move(c));
    } else {
      --open_;
    }
  }
  freed_.notify_one();
}

absl::Status RunSerializable(
    ConnectionPool& pool, std::string_view doing,
    const std::function<absl::Status(SerializableTxn&)>& fn) {
  absl::Status last;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto lease = pool.Acquire();
    if (!lease.ok()) return lease.status();
    try {
      SerializableTxn txn(**lease);
      absl::Status s = fn(txn);
      if (!s.ok()) return s;  // The transaction rolls back.
      txn.commit();
      return absl::OkStatus();
    } catch (const std::exception& e) {
      last = FromException(e, doing);
      if (!IsRetryable(last)) return last;
    }
  }
  return last;
}

Dialect DialectOfVersion(std::string_view version) {
  // What each distributed engine's version() contains.
  static constexpr std::pair<std::string_view, Dialect> kMarkers[] = {
      {"CockroachDB", Dialect::kDistributed},  // "CockroachDB CCL v23.1.11 ..."
      {"-YB-", Dialect::kDistributed},  // "PostgreSQL 11.2-YB-2.18.0.0-b0 ..."
  };
  for (const auto& [marker, dialect] : kMarkers) {
    if (version.find(marker) != std::string_view::npos) return dialect;
  }
  return Dialect::kPostgres;
}

absl::StatusOr<Dialect> DetectDialect(ConnectionPool& pool) {
  Dialect dialect = Dialect::kPostgres;
  absl::Status s = RunRead(
      pool, "reading the database's version", [&](pqxx::nontransaction& txn) {
        dialect = DialectOfVersion(txn.exec("SELECT version()")[0][0].c_str());
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  return dialect;
}

const char* WriterExclusionSql(Dialect dialect) {
  return dialect == Dialect::kPostgres
             ? "LOCK TABLE log_coordinator IN SHARE ROW EXCLUSIVE MODE"
             : nullptr;
}

absl::Status RunRead(
    ConnectionPool& pool, std::string_view doing,
    const std::function<absl::Status(pqxx::nontransaction&)>& fn) {
  auto lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  try {
    pqxx::nontransaction txn(**lease);
    return fn(txn);
  } catch (const std::exception& e) {
    return FromException(e, doing);
  }
}

}  // namespace loupe::storage::pg
