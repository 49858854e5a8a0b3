#pragma once

#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "loupe/v1/config.pb.h"
#include "server/http/connection_gate.h"
#include "server/http/fresh_checkpoint.h"
#include "server/http/gateway.h"
#include "server/http/http_server.h"
#include "server/http/metrics.h"
#include "server/log/checkpoint_publisher.h"
#include "server/log/object_sink.h"
#include "server/log/tile_publisher.h"
#include "server/log/witness_publisher.h"
#include "server/policy/access_policy.h"
#include "server/registry/geometry_cache.h"
#include "server/registry/registry.h"
#include "server/registry/worker_pool.h"
#include "server/rpc/admin_service.h"
#include "server/rpc/log_service.h"
#include "server/rpc/registry_service.h"
#include "server/signing/signer.h"
#include "server/storage/store.h"

namespace loupe::server {

// A running Loupe registry: the store, the policy, the worker pool and the
// gRPC server with RegistryService, TransparencyLogService, health checking
// and reflection; and, when http.listen_address is set, the HTTP gateway.
// Both listen through a ConnectionGate (connection_gate.h), within
// limits.max_connections and limits.max_connections_per_address.
//
// Thread-safe. Shutdown() may be called from any thread (e.g. a signal
// thread) while another is in Wait().
class RegistryServer {
 public:
  // Opens the store in config.data_dir and starts listening on
  // config.listen_address (port 0 picks a free port). `config` must have
  // passed FinishConfig().
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RegistryServer>> Start(
      const v1::ServerConfig& config);

  ~RegistryServer();

  // The port actually bound.
  int port() const { return port_; }
  // The HTTP gateway's port; 0 when http.listen_address is not set.
  int http_port() const { return http_ != nullptr ? http_->port() : 0; }

  // Stops accepting calls, lets running calls finish (up to 10 s), then
  // closes the store. Idempotent.
  void Shutdown();

  // Blocks until Shutdown() has completed.
  void Wait();

 private:
  RegistryServer() = default;
  // Starts the TilePublisher when log.static_tiles is configured.
  [[nodiscard]] absl::Status StartStaticTiles(
      const v1::ServerConfig& config, const std::vector<std::string>& roots);

  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<AccessPolicy> policy_;
  std::unique_ptr<CertificateSigner> signer_;  // Null without signing.
  std::unique_ptr<TransparencyLog> log_;
  std::unique_ptr<CheckpointPublisher> checkpoints_;  // Null without signing.
  std::unique_ptr<WorkerPool> geometry_pool_;
  std::unique_ptr<GeometryCache> geometry_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<RegistryService> service_;
  std::unique_ptr<LogService> log_service_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<http::Metrics> metrics_;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor>
      grpc_acceptor_;
  // Destroyed before the acceptor it hands connections to.
  std::unique_ptr<ConnectionGate> grpc_gate_;
  std::unique_ptr<http::PreviewCache> previews_;
  std::unique_ptr<http::Gateway> gateway_;
  std::unique_ptr<http::FreshCheckpointHandler> fresh_gateway_;
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<WitnessPublisher> publisher_;  // Null without witnesses.
  // log.static_tiles: where they go, and their publisher (else null).
  std::unique_ptr<ObjectSink> tile_sink_;
  std::unique_ptr<TilePublisher> tiles_;
  int port_ = 0;

  std::mutex mu_;
  std::condition_variable stopped_cv_;
  bool stopped_ = false;
};

}  // namespace loupe::server
