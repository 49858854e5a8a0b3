#include "server/ops/migrate_assets.h"

#include <set>

#include "base/str_cat.h"
#include "crypto/sha256.h"
#include "server/storage/open_store.h"
#include "server/storage/s3/s3_asset_store.h"
#include "server/storage/s3/s3_assets.h"

namespace loupe::server {
namespace {

using storage::Store;

constexpr size_t kPage = 500;

// Every asset some version names, once.
absl::StatusOr<std::set<std::string>> NamedAssets(Store& store) {
  std::set<std::string> assets;
  std::string after;
  for (;;) {
    auto page = store.ListPieces("", after, kPage);
    if (!page.ok()) return page.status();
    for (const auto& piece : page->pieces) {
      uint32_t last = 0;
      for (;;) {
        auto versions = store.ListVersions(piece.id(), last, kPage);
        if (!versions.ok()) return versions.status();
        for (const auto& v : versions->versions) {
          for (const auto& a : v.assets()) assets.insert(a.sha256());
        }
        if (!versions->last_number) break;
        last = *versions->last_number;
      }
    }
    if (!page->last_key) return assets;
    after = *page->last_key;
  }
}

// Reads the bucket's copy through the verifying reader.
absl::Status VerifyInBucket(storage::s3::S3Client* client,
                            const storage::s3::S3AssetOptions& options,
                            const crypto::Sha256Digest& sha, uint64_t size) {
  auto reader = storage::s3::OpenS3Asset(client, options, sha, size);
  if (!reader.ok()) return reader.status();
  for (;;) {
    auto chunk = (*reader)->NextChunk();
    if (!chunk.ok()) return chunk.status();
    if (!chunk->has_value()) return absl::OkStatus();
  }
}

// Moves one asset; false if it was already in the bucket.
absl::StatusOr<bool> MoveOne(Store& store, storage::s3::S3Client* client,
                             const storage::s3::S3AssetOptions& options,
                             const crypto::Sha256Digest& sha, uint64_t* bytes) {
  auto local = store.OpenAsset(sha);
  if (storage::IsExternalAsset(local.status())) return false;
  if (!local.ok()) return local.status();
  auto writer = storage::s3::NewS3AssetWriter(
      client, options,
      [&](const crypto::Sha256Digest& d, uint64_t size,
          std::string_view) -> absl::StatusOr<bool> {
        if (auto s = VerifyInBucket(client, options, d, size); !s.ok()) {
          return s;
        }
        if (auto s = store.MarkAssetExternal(d); !s.ok()) return s;
        return true;
      });
  if (!writer.ok()) return writer.status();
  const uint64_t size = (*local)->size_bytes();
  for (;;) {
    auto chunk = (*local)->NextChunk();      // DATA_LOSS if the engine's bytes
    if (!chunk.ok()) return chunk.status();  // fail their digests.
    if (!chunk->has_value()) break;
    if (auto s = (*writer)->Append(**chunk); !s.ok()) return s;
  }
  auto commit = (*writer)->Commit(size, sha, "");
  if (!commit.ok()) return commit.status();
  *bytes += size;
  return true;
}

}  // namespace

absl::Status MigrateAssets(const v1::ServerConfig& config, std::ostream& out) {
  if (!config.assets().has_s3()) {
    return absl::InvalidArgumentError(
        "assets.s3: the config names no bucket to move the assets to");
  }
  auto setup = storage::s3::S3SetupFromConfig(config);
  if (!setup.ok()) return setup.status();
  v1::ServerConfig engine_only = config;
  engine_only.clear_assets();
  auto store = storage::OpenExistingStore(engine_only);
  if (!store.ok()) return store.status();
  auto client = storage::s3::S3Client::Create(setup->client);
  if (!client.ok()) return client.status();
  if (auto s = storage::s3::PrepareBucket(**client, setup->assets); !s.ok()) {
    return s;
  }

  auto named = NamedAssets(**store);
  if (!named.ok()) return named.status();
  uint64_t moved = 0, skipped = 0, bytes = 0;
  for (const std::string& hex : *named) {
    auto sha = crypto::ParseSha256Hex(hex);
    if (!sha.ok()) {
      return absl::DataLossError(
          StrCat("a version names asset ", hex, ", not a SHA-256"));
    }
    auto result = MoveOne(**store, client->get(), setup->assets, *sha, &bytes);
    if (!result.ok()) {
      return absl::Status(
          result.status().code(),
          StrCat("asset ", hex, ": ", result.status().message()));
    }
    ++(*result ? moved : skipped);
    if (*result) out << "moved asset " << hex << "\n";
  }
  auto stats = (*store)->CountStats();
  out << "migrate-assets: " << moved << " asset(s) moved (" << bytes
      << " bytes, each verified in the bucket), " << skipped
      << " already in the bucket";
  if (stats.ok() && stats->assets > named->size()) {
    out << ", " << (stats->assets - named->size())
        << " upload(s) no version names left in the engine";
  }
  out << "\n";
  return absl::OkStatus();
}

}  // namespace loupe::server
