#pragma once

// The static log's objects in an S3 bucket (server/storage/s3): each a
// PUT with its Cache-Control (immutable for full tiles) and Content-Type,
// which the bucket returns to readers and a CDN in front of it honours.
// Thread-safe (the client is).

#include <memory>

#include "server/log/object_sink.h"
#include "server/storage/s3/s3_client.h"

namespace loupe::server {

// `prefix` ("" or "log/") is put before every key.
[[nodiscard]] std::unique_ptr<ObjectSink> NewS3Sink(
    std::unique_ptr<storage::s3::S3Client> client, std::string prefix = "");

}  // namespace loupe::server
