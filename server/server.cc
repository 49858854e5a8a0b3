#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "base/str_cat.h"

namespace loupe::server {

absl::StatusOr<std::unique_ptr<RegistryServer>> RegistryServer::Start(
    const v1::ServerConfig& config) {
  std::unique_ptr<RegistryServer> s(new RegistryServer());
  auto policy = AccessPolicy::FromConfig(config);
  if (!policy.ok()) return policy.status();
  s->policy_ = *std::move(policy);
  if (!config.signing().key_file().empty()) {
    auto signer = CertificateSigner::Load(config.signing());
    if (!signer.ok()) return signer.status();
    s->signer_ = *std::move(signer);
  }

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir(), ec);
  if (ec) {
    return absl::FailedPreconditionError(StrCat(
        "data_dir: cannot create ", config.data_dir(), ": ", ec.message()));
  }
  auto store = storage::OpenRocksStore(config.data_dir());
  if (!store.ok()) return store.status();
  s->store_ = *std::move(store);

  if (auto health = s->store_->LogHealth(); !health.ok()) {
    // The registry stays up (reads of pieces and assets still work) but
    // the log serves nothing and nothing more is appended: see
    // docs/operations.md, "The log refuses to serve".
    std::cerr << "loupe-server: WARNING: " << health.message() << "\n";
  }
  s->log_ =
      std::make_unique<TransparencyLog>(s->store_.get(), s->signer_.get());
  s->registry_ = std::make_unique<Registry>(s->store_.get(), s->policy_.get(),
                                            config.limits(), s->signer_.get(),
                                            s->log_.get());
  s->pool_ = std::make_unique<WorkerPool>(config.worker_threads());
  s->service_ = std::make_unique<RegistryService>(
      s->registry_.get(), s->policy_.get(), s->pool_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address(),
                           grpc::InsecureServerCredentials(), &s->port_);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(config.limits().max_message_bytes()));
  builder.SetMaxSendMessageSize(
      static_cast<int>(config.limits().max_message_bytes()));
  builder.RegisterService(s->service_.get());
  s->log_service_ = std::make_unique<LogService>(s->log_.get());
  builder.RegisterService(s->log_service_.get());
  s->grpc_ = builder.BuildAndStart();
  if (s->grpc_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(
        StrCat("listen_address: cannot listen on ", config.listen_address()));
  }
  s->grpc_->GetHealthCheckService()->SetServingStatus(true);
  return s;
}

RegistryServer::~RegistryServer() { Shutdown(); }

void RegistryServer::Shutdown() {
  std::unique_lock<std::mutex> lock(mu_);
  if (stopped_ || grpc_ == nullptr) {
    stopped_ = true;
    return;
  }
  grpc_->GetHealthCheckService()->SetServingStatus(false);
  grpc_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  pool_.reset();  // Runs queued work, then joins.
  store_.reset();
  stopped_ = true;
  stopped_cv_.notify_all();
}

void RegistryServer::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  stopped_cv_.wait(lock, [this] { return stopped_; });
}

}  // namespace loupe::server
