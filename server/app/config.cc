#include "server/app/config.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/str_cat.h"
#include "proto/text_proto.h"
#include "server/log/witness_publisher.h"

namespace loupe::server {

absl::StatusOr<v1::ServerConfig> ParseConfig(const std::string& text) {
  v1::ServerConfig config;
  if (auto s = ParseTextProto(text, &config); !s.ok()) {
    return absl::InvalidArgumentError(StrCat("config: ", s.message()));
  }
  return config;
}

absl::StatusOr<v1::ServerConfig> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(StrCat("config: cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  auto config = ParseConfig(text.str());
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        StrCat(path, ": ", config.status().message()));
  }
  return config;
}

namespace {

// geometry and log: defaults and ranges.
absl::Status FinishBackgroundConfig(v1::ServerConfig* config) {
  auto* geometry = config->mutable_geometry();
  if (geometry->threads() == 0) {
    geometry->set_threads(
        std::clamp(std::thread::hardware_concurrency(), 1u, 64u));
  }
  if (geometry->workers() == 0) geometry->set_workers(1);
  if (geometry->cache_entries() == 0) geometry->set_cache_entries(100'000);
  if (geometry->cache_bytes() == 0) geometry->set_cache_bytes(64ull << 20);
  if (geometry->threads() > 64) {
    return absl::InvalidArgumentError("geometry.threads: at most 64");
  }
  if (geometry->workers() > 64) {
    return absl::InvalidArgumentError("geometry.workers: at most 64");
  }
  auto* log = config->mutable_log();
  if (log->checkpoint_interval_ms() == 0) log->set_checkpoint_interval_ms(100);
  if (log->checkpoint_interval_ms() > 60'000) {
    return absl::InvalidArgumentError(
        "log.checkpoint_interval_ms: at most 60000");
  }
  if (log->has_static_tiles()) {
    auto* tiles = log->mutable_static_tiles();
    if (tiles->directory().empty() == !tiles->has_s3()) {
      return absl::InvalidArgumentError(
          "log.static_tiles: needs a directory or s3 to publish into (one)");
    }
    if (tiles->max_objects_per_round() == 0) {
      tiles->set_max_objects_per_round(256);
    }
    if (tiles->checkpoint_max_age_seconds() == 0) {
      tiles->set_checkpoint_max_age_seconds(5);
    }
    if (tiles->partial_max_age_seconds() == 0) {
      tiles->set_partial_max_age_seconds(60);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FinishConfig(v1::ServerConfig* config) {
  if (config->data_dir().empty()) {
    return absl::InvalidArgumentError(
        "data_dir: required (in the config file or --data-dir)");
  }
  if (config->listen_address().empty()) {
    config->set_listen_address(kDefaultListenAddress);
  }
  auto* limits = config->mutable_limits();
  if (limits->max_asset_bytes() == 0) {
    limits->set_max_asset_bytes(kDefaultMaxAssetBytes);
  }
  if (limits->max_message_bytes() == 0) {
    limits->set_max_message_bytes(kDefaultMaxMessageBytes);
  }
  if (limits->requests_per_second() == 0) limits->set_requests_per_second(1000);
  if (limits->anonymous_requests_per_second() == 0) {
    limits->set_anonymous_requests_per_second(200);
  }
  if (limits->max_concurrent_streams() == 0) {
    limits->set_max_concurrent_streams(100);
  }
  if (limits->max_call_seconds() == 0) limits->set_max_call_seconds(3600);
  if (limits->identifications_per_minute() == 0) {
    limits->set_identifications_per_minute(30);
  }
  if (limits->handshake_timeout_ms() == 0) {
    limits->set_handshake_timeout_ms(10000);
  }
  if (limits->max_connections() != 0 &&
      limits->max_connections_per_address() > limits->max_connections()) {
    return absl::InvalidArgumentError(
        "limits.max_connections_per_address: more than "
        "limits.max_connections");
  }
  if (limits->max_mesh_triangles() == 0) {
    limits->set_max_mesh_triangles(20'000'000);
  }
  if (limits->max_message_bytes() < (2u << 20)) {
    return absl::InvalidArgumentError(
        "limits.max_message_bytes: must be at least 2 MiB (chunks are 1 MiB)");
  }
  if (config->worker_threads() == 0) {
    config->set_worker_threads(kDefaultWorkerThreads);
  }
  const auto& tls = config->tls();
  if (!config->allow_plaintext() &&
      (tls.cert_file().empty() || tls.key_file().empty())) {
    return absl::InvalidArgumentError(
        "tls: cert_file and key_file are required (or allow_plaintext: true, "
        "for development or behind a TLS proxy)");
  }
  if (tls.cert_file().empty() != tls.key_file().empty()) {
    return absl::InvalidArgumentError(
        "tls: cert_file and key_file go together");
  }
  if (tls.require_client_certificate() && tls.client_ca_file().empty()) {
    return absl::InvalidArgumentError(
        "tls.require_client_certificate: needs tls.client_ca_file");
  }
  auto* http = config->mutable_http();
  if (http->threads() == 0) http->set_threads(2);
  if (http->read_timeout_ms() == 0) http->set_read_timeout_ms(10000);
  if (http->max_header_bytes() == 0) http->set_max_header_bytes(8 << 10);
  if (http->max_body_bytes() == 0) http->set_max_body_bytes(64 << 10);
  if (http->threads() > 64) {
    return absl::InvalidArgumentError("http.threads: at most 64");
  }
  if (config->worker_threads() > 1024) {
    return absl::InvalidArgumentError("worker_threads: at most 1024");
  }
  if (auto s = FinishBackgroundConfig(config); !s.ok()) return s;
  return FinishWitnessingConfig(config);
}

}  // namespace loupe::server
