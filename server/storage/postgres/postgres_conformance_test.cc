// The storage conformance suite (conformance/store_conformance.h) on the
// PostgreSQL engine, against a real PostgreSQL 15 cluster the test starts
// (test_cluster_for_tests.h). Each store directory names the database that
// holds it (a file `database` in it), so that Reopen and Restore work as on
// the other engines; damage is done with SQL, as a disk or an attacker with
// database access would.
#include <filesystem>
#include <fstream>

#include "server/storage/conformance/store_conformance.h"
#include "server/storage/postgres/postgres_store.h"
#include "server/storage/postgres/test_cluster_for_tests.h"

namespace loupe::storage::conformance {
namespace {

using testing::SharedPostgresCluster;

// The database of the store kept in `dir`, created (empty) if none yet.
absl::StatusOr<std::string> DatabaseOf(const std::string& dir) {
  const auto file = std::filesystem::path(dir) / "database";
  std::string name;
  std::ifstream(file) >> name;
  if (!name.empty()) return name;
  name = SharedPostgresCluster().UniqueName("conformance");
  auto created = SharedPostgresCluster().CreateDatabase(name);
  if (!created.ok()) return created.status();
  std::ofstream(file) << name << "\n";
  return name;
}

absl::StatusOr<std::unique_ptr<Store>> OpenIn(const std::string& database) {
  PostgresOptions options;
  options.url = SharedPostgresCluster().Url(database);
  options.apply_migrations = true;
  return OpenPostgresStore(options);
}

class PostgresEngine final : public Engine {
 public:
  std::string name() const override { return "PostgreSQL"; }
  absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::string& dir) const override {
    auto database = DatabaseOf(dir);
    if (!database.ok()) return database.status();
    return OpenIn(*database);
  }
  bool persists() const override { return true; }
  absl::StatusOr<std::unique_ptr<Store>> Restore(
      const std::string& backup_dir, const std::string& dir) const override {
    auto database = DatabaseOf(dir);
    if (!database.ok()) return database.status();
    if (auto s = RestorePostgresStore(backup_dir,
                                      SharedPostgresCluster().Url(*database));
        !s.ok()) {
      return s;
    }
    return OpenIn(*database);
  }
  absl::Status FlipAssetByte(std::unique_ptr<Store>& store,
                             const std::string& dir,
                             const crypto::Sha256Digest& sha256,
                             uint64_t offset) const override {
    constexpr uint64_t kChunk = 1 << 20;
    return Sql(dir, "UPDATE asset_chunks SET bytes = set_byte(bytes, " +
                        std::to_string(offset % kChunk) + ", get_byte(bytes, " +
                        std::to_string(offset % kChunk) +
                        ") # 1) WHERE chunk_index = " +
                        std::to_string(offset / kChunk) +
                        " AND content_id = (SELECT content_id FROM assets "
                        "WHERE sha256 = '\\x" +
                        crypto::ToHex(sha256) + "') RETURNING 1");
  }
  absl::Status RewriteLogEntry(std::unique_ptr<Store>& store,
                               const std::string& dir, uint64_t index,
                               const std::string& entry) const override {
    std::string hex;
    for (unsigned char c : entry) {
      static constexpr char kDigits[] = "0123456789abcdef";
      hex += kDigits[c >> 4];
      hex += kDigits[c & 15];
    }
    // The leaf hash stays in its tile.
    return Sql(dir, "UPDATE log_entries SET entry = '\\x" + hex +
                        "' WHERE entry_index = " + std::to_string(index) +
                        " RETURNING 1");
  }

 private:
  // Runs `sql` in the store's database; NOT_FOUND if it changed nothing.
  static absl::Status Sql(const std::string& dir, const std::string& sql) {
    auto database = DatabaseOf(dir);
    if (!database.ok()) return database.status();
    auto changed = SharedPostgresCluster().Sql(*database, sql);
    if (!changed.ok()) return changed.status();
    if (changed->empty()) return absl::NotFoundError("nothing to damage");
    return absl::OkStatus();
  }
};

const PostgresEngine kPostgres;

INSTANTIATE_TEST_SUITE_P(Engines, StoreConformanceTest,
                         ::testing::Values<const Engine*>(&kPostgres),
                         EngineName);

}  // namespace
}  // namespace loupe::storage::conformance
