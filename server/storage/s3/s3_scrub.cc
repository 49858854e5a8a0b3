// ScrubBucket (s3_assets.h): the bucket's half of a scrub.

#include <cstdint>
#include <ctime>
#include <set>

#include "base/str_cat.h"
#include "server/storage/s3/s3_assets.h"

namespace loupe::storage::s3 {
namespace {

// Reads the whole asset through the verifying reader.
absl::Status VerifyAsset(S3Client* client, const S3AssetOptions& options,
                         const ScrubReport::ExternalAsset& asset) {
  auto reader = OpenS3Asset(client, options, asset.sha256, asset.size);
  if (!reader.ok()) return reader.status();
  for (;;) {
    auto chunk = (*reader)->NextChunk();
    if (!chunk.ok()) return chunk.status();
    if (!chunk->has_value()) return absl::OkStatus();
  }
}

// Lists every object under `prefix`.
absl::StatusOr<std::vector<ObjectInfo>> ListAll(S3Client* client,
                                                const std::string& prefix) {
  std::vector<ObjectInfo> all;
  std::string token;
  for (;;) {
    auto page = client->List(prefix, token);
    if (!page.ok()) return page.status();
    for (auto& o : page->objects) all.push_back(std::move(o));
    if (!page->next_continuation) return all;
    token = *page->next_continuation;
  }
}

}  // namespace

absl::Status ScrubBucket(S3Client* client, const S3AssetOptions& options,
                         ScrubReport* report) {
  std::set<std::string> referenced;
  for (const auto& asset : report->external_assets) {
    referenced.insert(crypto::ToHex(asset.sha256));
    report->asset_bytes += asset.size;
    auto s = VerifyAsset(client, options, asset);
    if (absl::IsUnavailable(s)) return s;  // The bucket cannot be read.
    if (!s.ok()) {
      const std::string message(s.message());
      const std::string name = StrCat("asset ", crypto::ToHex(asset.sha256));
      report->problems.push_back(
          message.starts_with(name) ? message : StrCat(name, ": ", message));
    }
  }
  // Grace 0: everything unreferenced (times are rounded to seconds, some
  // servers up).
  const int64_t cutoff = options.orphan_grace_seconds == 0
                             ? INT64_MAX
                             : static_cast<int64_t>(std::time(nullptr)) -
                                   options.orphan_grace_seconds;
  for (const std::string prefix : {"assets/", "sums/"}) {
    auto objects = ListAll(client, prefix);
    if (!objects.ok()) return objects.status();
    for (const auto& o : *objects) {
      if (referenced.contains(o.key.substr(prefix.size()))) continue;
      if (o.last_modified_unix > cutoff) continue;  // Maybe being recorded.
      if (!options.remove_orphans) {
        report->problems.push_back(
            StrCat("orphaned object ", o.key,
                   " (no asset record names it; scrub --remove-orphans "
                   "deletes it)"));
      } else if (auto s = client->Delete(o.key); !s.ok()) {
        report->problems.push_back(StrCat("orphaned object ", o.key,
                                          ": cannot delete: ", s.message()));
      } else {
        report->notes.push_back(StrCat("removed orphaned object ", o.key));
      }
    }
  }
  auto uploads = client->ListMultipartUploads("assets/");
  if (!uploads.ok()) return uploads.status();
  for (const auto& u : *uploads) {
    if (u.initiated_unix > cutoff) continue;  // Maybe still running.
    if (!options.remove_orphans) {
      report->problems.push_back(StrCat("unfinished multipart upload of ",
                                        u.key, " (", u.upload_id, ")"));
    } else if (auto s = client->AbortMultipartUpload(u.key, u.upload_id);
               !s.ok()) {
      report->problems.push_back(StrCat("unfinished multipart upload of ",
                                        u.key,
                                        ": cannot abort: ", s.message()));
    } else {
      report->notes.push_back(
          StrCat("aborted unfinished multipart upload of ", u.key));
    }
  }
  return absl::OkStatus();
}

}  // namespace loupe::storage::s3
