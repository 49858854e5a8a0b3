#include "server/storage/open_store.h"

#include "base/str_cat.h"
#include "server/storage/memory/memory_store.h"
#include "server/storage/postgres/postgres_store.h"
#include "server/storage/rocks/rocks_store.h"
#include "server/storage/s3/s3_asset_store.h"

namespace loupe::storage {
namespace {

bool InMemory(const v1::ServerConfig& config) {
  return config.storage().has_memory();
}

bool InPostgres(const v1::ServerConfig& config) {
  return config.storage().has_postgres();
}

absl::StatusOr<std::unique_ptr<Store>> OpenPostgres(
    const v1::ServerConfig& config, bool may_migrate) {
  auto options = PostgresOptionsFromConfig(config.storage().postgres());
  if (!options.ok()) return options.status();
  options->apply_migrations &= may_migrate;
  return OpenPostgresStore(*options);
}

// With assets.s3 configured, asset bytes go to the bucket (the S3 asset
// engine wraps the metadata engine).
absl::StatusOr<std::unique_ptr<Store>> WithAssets(
    const v1::ServerConfig& config,
    absl::StatusOr<std::unique_ptr<Store>> metadata) {
  if (!metadata.ok() || !config.assets().has_s3()) return metadata;
  if (InMemory(config)) {
    return absl::InvalidArgumentError(
        "assets.s3: needs the rocksdb or postgres storage engine");
  }
  auto setup = s3::S3SetupFromConfig(config);
  if (!setup.ok()) return setup.status();
  return s3::NewS3AssetStore(*std::move(metadata), *setup);
}

absl::StatusOr<std::unique_ptr<Store>> OpenMetadataStore(
    const v1::ServerConfig& config) {
  if (InMemory(config)) return std::unique_ptr<Store>(NewMemoryStore());
  if (InPostgres(config)) return OpenPostgres(config, /*may_migrate=*/true);
  return OpenRocksStore(config.data_dir());
}

absl::StatusOr<std::unique_ptr<Store>> OpenExistingMetadataStore(
    const v1::ServerConfig& config) {
  if (InMemory(config)) {
    return absl::NotFoundError(
        "storage: the memory engine keeps nothing between runs");
  }
  // The database exists by definition; an absent schema is refused (not
  // created) by the schema check.
  if (InPostgres(config)) return OpenPostgres(config, /*may_migrate=*/false);
  if (!HasRocksStore(config.data_dir())) {
    return absl::NotFoundError(
        StrCat("data_dir: no store in ", config.data_dir(), " (no rocksdb/)"));
  }
  return OpenRocksStore(config.data_dir());
}

absl::StatusOr<std::unique_ptr<Store>> RestoreMetadataStore(
    const std::string& backup_dir, const v1::ServerConfig& config) {
  if (InMemory(config)) {
    auto store = RestoreMemoryStore(backup_dir);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(*std::move(store));
  }
  if (InPostgres(config)) {
    auto options = PostgresOptionsFromConfig(config.storage().postgres());
    if (!options.ok()) return options.status();
    if (auto s = RestorePostgresStore(backup_dir, options->url); !s.ok()) {
      return s;
    }
    return OpenPostgresStore(*options);
  }
  if (auto s = RestoreRocksStore(backup_dir, config.data_dir()); !s.ok()) {
    return s;
  }
  return OpenRocksStore(config.data_dir());
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenStore(
    const v1::ServerConfig& config) {
  return WithAssets(config, OpenMetadataStore(config));
}

absl::StatusOr<std::unique_ptr<Store>> OpenExistingStore(
    const v1::ServerConfig& config) {
  return WithAssets(config, OpenExistingMetadataStore(config));
}

absl::StatusOr<std::unique_ptr<Store>> RestoreStore(
    const std::string& backup_dir, const v1::ServerConfig& config) {
  return WithAssets(config, RestoreMetadataStore(backup_dir, config));
}

absl::StatusOr<int> MigrateStoreSchema(const v1::ServerConfig& config) {
  if (!InPostgres(config)) {
    return absl::InvalidArgumentError(
        "storage: only the postgres engine has a schema to migrate");
  }
  auto options = PostgresOptionsFromConfig(config.storage().postgres());
  if (!options.ok()) return options.status();
  return MigratePostgresSchema(options->url);
}

}  // namespace loupe::storage
