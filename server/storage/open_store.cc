#include "server/storage/open_store.h"

#include "base/str_cat.h"
#include "server/storage/memory/memory_store.h"
#include "server/storage/rocks/rocks_store.h"

namespace loupe::storage {
namespace {

bool InMemory(const v1::ServerConfig& config) {
  return config.storage().has_memory();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenStore(
    const v1::ServerConfig& config) {
  if (InMemory(config)) return std::unique_ptr<Store>(NewMemoryStore());
  return OpenRocksStore(config.data_dir());
}

absl::StatusOr<std::unique_ptr<Store>> OpenExistingStore(
    const v1::ServerConfig& config) {
  if (InMemory(config)) {
    return absl::NotFoundError(
        "storage: the memory engine keeps nothing between runs");
  }
  if (!HasRocksStore(config.data_dir())) {
    return absl::NotFoundError(
        StrCat("data_dir: no store in ", config.data_dir(), " (no rocksdb/)"));
  }
  return OpenRocksStore(config.data_dir());
}

absl::StatusOr<std::unique_ptr<Store>> RestoreStore(
    const std::string& backup_dir, const v1::ServerConfig& config) {
  if (InMemory(config)) {
    auto store = RestoreMemoryStore(backup_dir);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(*std::move(store));
  }
  if (auto s = RestoreRocksStore(backup_dir, config.data_dir()); !s.ok()) {
    return s;
  }
  return OpenRocksStore(config.data_dir());
}

}  // namespace loupe::storage
