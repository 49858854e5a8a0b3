#pragma once

// Where the static copy of the log goes (TilePublisher): a flat namespace
// of objects keyed by relative paths ("checkpoint", "tile/0/x001/234",
// "tile/entries/000.p/17"), as an object store bucket or a directory that
// a web server or CDN serves. Implementations: DirectorySink (below), the
// S3 sink (server/storage/s3). Blocking calls: the tile publisher's thread
// only, never a gRPC or HTTP I/O thread.

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace loupe::server {

// How long a cache may keep an object (its Cache-Control, and the S3
// object's Cache-Control metadata).
struct ObjectCaching {
  // The bytes under this key never change (full tiles, full entry
  // bundles): cache forever.
  bool immutable = false;
  // Otherwise at most this long (checkpoint: a few seconds; partial tiles:
  // replaced by wider ones under other keys, so their bytes do not change
  // either, but a lagging cache must not pin them).
  int max_age_seconds = 0;
  std::string_view content_type = "application/octet-stream";
  [[nodiscard]] std::string CacheControl() const;
};

class ObjectSink {
 public:
  virtual ~ObjectSink() = default;
  // Stores `bytes` under `key`, replacing what was there; readers see the
  // old or the new bytes, never a mix. UNAVAILABLE (retry later) or
  // another error naming the key.
  [[nodiscard]] virtual absl::Status Put(std::string_view key,
                                         std::string_view bytes,
                                         const ObjectCaching& caching) = 0;
  // The bytes under `key`; NOT_FOUND if there are none.
  [[nodiscard]] virtual absl::StatusOr<std::string> Get(
      std::string_view key) = 0;
  // For messages: "directory /srv/log", "s3://bucket/prefix".
  [[nodiscard]] virtual std::string Describe() const = 0;
};

// Objects as files under a directory (created if missing), written to a
// temporary file and renamed into place. Serve it with any web server
// (docs/operations.md has an nginx block setting the cache headers, which
// files cannot carry). Thread-compatible.
[[nodiscard]] absl::StatusOr<std::unique_ptr<ObjectSink>> NewDirectorySink(
    const std::string& directory);

}  // namespace loupe::server
