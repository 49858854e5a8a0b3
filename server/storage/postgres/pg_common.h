#pragma once

// Internal to the PostgreSQL engine: connections, transactions with a
// bounded retry on serialization failures, and error mapping. Only this
// folder sees libpqxx.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/merkle.h"

namespace loupe::storage::pg {

// How many times a transaction that failed with SQLSTATE 40001 (or 40P01)
// is run before the caller gets ABORTED.
inline constexpr int kMaxAttempts = 8;

// A libpqxx exception as a Status: serialization failures and deadlocks
// ABORTED and retryable (IsRetryable), a lost connection or an unknown
// commit outcome UNAVAILABLE, everything else INTERNAL; `doing` says what
// failed ("reading piece pc_1").
[[nodiscard]] absl::Status FromException(const std::exception& e,
                                         std::string_view doing);
// Whether `s` came from a serialization conflict: running the whole
// transaction again may succeed.
[[nodiscard]] bool IsRetryable(const absl::Status& s);
[[nodiscard]] absl::Status RetryableAbort(std::string_view what);

// Bytes as a BYTEA parameter, and back.
[[nodiscard]] inline pqxx::binarystring Bytes(std::string_view b) {
  return pqxx::binarystring(b.data(), b.size());
}
[[nodiscard]] inline pqxx::binarystring Bytes(const crypto::Hash& h) {
  return pqxx::binarystring(h.data(), h.size());
}
[[nodiscard]] inline std::string FieldBytes(const pqxx::field& f) {
  return pqxx::binarystring(f).str();
}
[[nodiscard]] crypto::Hash HashAt(std::string_view bytes);

// Statements with their values spelled as literals, sent as one string:
// a commit group's writes in one round trip instead of one per row. Only
// hex digits (BYTEA) and decimal digits (integers) are spliced into the
// SQL, so no value can change what a statement means. Not thread-safe.
class SqlScript {
 public:
  // E'\\x<hex>'::BYTEA, read the same whatever standard_conforming_strings.
  [[nodiscard]] static std::string Bytea(std::string_view bytes);
  [[nodiscard]] static std::string Bytea(const crypto::Hash& h) {
    return Bytea(
        std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
  }
  [[nodiscard]] static std::string Int(int64_t v) { return std::to_string(v); }
  // "(a, b, c)" from literals made by Bytea() and Int().
  [[nodiscard]] static std::string Row(std::initializer_list<std::string> v);

  // Adds `head` ("INSERT INTO t (a, b) VALUES"), the rows separated by
  // commas, then `tail` (" ON CONFLICT DO NOTHING"); nothing if no rows.
  void Insert(std::string_view head, const std::vector<std::string>& rows,
              std::string_view tail = "");
  // Adds one statement made only of SQL text and literals from above.
  void Add(std::string_view statement);
  [[nodiscard]] bool empty() const { return sql_.empty(); }
  // Sends every statement added so far in one round trip and clears the
  // script. Throws as pqxx::transaction_base::exec does.
  void Run(pqxx::transaction_base& txn);

 private:
  std::string sql_;
};

namespace statements {
// The statements a commit group runs for every work, prepared once per
// connection (ConnectionPool), so the server parses and plans them once.
inline constexpr char kFindPiece[] = "loupe_find_piece";
inline constexpr char kFindPieceByReference[] = "loupe_find_piece_by_reference";
inline constexpr char kFindVersion[] = "loupe_find_version";
inline constexpr char kFindCertificate[] = "loupe_find_certificate";
inline constexpr char kFindAssetSize[] = "loupe_find_asset_size";
inline constexpr char kIsAssetUploadedBy[] = "loupe_is_asset_uploaded_by";
inline constexpr char kFindCheck[] = "loupe_find_check";
inline constexpr char kLockCoordinator[] = "loupe_lock_coordinator";
}  // namespace statements

// Connections to one database, opened on demand (up to `max` at once,
// callers wait beyond that) and reused. Thread-safe.
class ConnectionPool {
 public:
  ConnectionPool(std::string url, size_t max)
      : url_(std::move(url)), max_(max) {}

  // A connection for one caller; returned to the pool when destroyed
  // (dropped instead if it broke).
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<pqxx::connection> c)
        : pool_(pool), c_(std::move(c)) {}
    Lease(Lease&&) = default;
    ~Lease();
    pqxx::connection& operator*() { return *c_; }
    pqxx::connection* operator->() { return c_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<pqxx::connection> c_;
  };
  // UNAVAILABLE if the database cannot be reached. A new connection has
  // every statement of pg::statements prepared.
  [[nodiscard]] absl::StatusOr<Lease> Acquire();
  [[nodiscard]] const std::string& url() const { return url_; }

 private:
  void Return(std::unique_ptr<pqxx::connection> c);

  const std::string url_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  size_t open_ = 0;
};

using SerializableTxn = pqxx::transaction<pqxx::serializable>;

// Which PostgreSQL-protocol database the store talks to, where their SQL
// differs (docs/scale-out.md, "Sequencing and throughput").
enum class Dialect {
  // PostgreSQL itself: commit groups take WriterExclusionSql() first.
  kPostgres,
  // CockroachDB, YugabyteDB: no table locks; their serializable retries
  // order concurrent writers.
  kDistributed,
};

// The dialect of the database `pool` reaches, from `SELECT version()`
// (CockroachDB and YugabyteDB name themselves there; anything else is
// PostgreSQL). UNAVAILABLE or INTERNAL if it cannot be read.
[[nodiscard]] absl::StatusOr<Dialect> DetectDialect(ConnectionPool& pool);
[[nodiscard]] Dialect DialectOfVersion(std::string_view version);

// The statement a transaction that may append to the log runs first, before
// any read, or nullptr. On PostgreSQL it takes a self-conflicting lock on
// log_coordinator (SHARE ROW EXCLUSIVE): such transactions run one at a
// time, and each one's snapshot, taken by its first read after the lock is
// granted, already sees the previous one's commit. Without it a SERIALIZABLE
// group's snapshot predates its wait for the coordinator row, and whenever
// another front end commits first the group fails with 40001 and runs again.
// Readers (ACCESS SHARE) are not blocked.
[[nodiscard]] const char* WriterExclusionSql(Dialect dialect);

// Runs `fn` in a SERIALIZABLE transaction on a pooled connection and
// commits; runs it again (a new transaction) when it or the commit fails
// with a serialization conflict, at most kMaxAttempts times. `fn` returns
// a non-OK status to roll back; it may throw libpqxx exceptions.
[[nodiscard]] absl::Status RunSerializable(
    ConnectionPool& pool, std::string_view doing,
    const std::function<absl::Status(SerializableTxn&)>& fn);

// Runs `fn` with one autocommit statement context (READ COMMITTED): for
// single reads.
[[nodiscard]] absl::Status RunRead(
    ConnectionPool& pool, std::string_view doing,
    const std::function<absl::Status(pqxx::nontransaction&)>& fn);

}  // namespace loupe::storage::pg
