#include "server/app/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/server_interceptor.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "base/file.h"
#include "base/str_cat.h"
#include "server/http/connection_gate.h"
#include "server/log/s3_object_sink.h"
#include "server/storage/open_store.h"
#include "server/storage/s3/s3_asset_store.h"

namespace loupe::server {
namespace {

// Counts every RPC and its time to the status, for /metrics.
class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info,
                     http::Metrics* metrics)
      : method_(info->method()),
        metrics_(metrics),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      const auto code = methods->GetSendStatus().error_code();
      metrics_->Record(
          "grpc", method_,
          absl::StatusCodeToString(static_cast<absl::StatusCode>(code)),
          std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                        start_)
              .count());
    }
    methods->Proceed();
  }

 private:
  std::string method_;
  http::Metrics* metrics_;
  std::chrono::steady_clock::time_point start_;
};

// The verify page's files: http.web_dir, else web/ beside the binary,
// else the source tree's server/http/web (a development build).
std::string WebDir(const v1::HttpConfig& http) {
  if (!http.web_dir().empty()) return http.web_dir();
  std::error_code ec;
  const auto beside =
      std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / "web";
  if (!ec && std::filesystem::exists(beside / "verify.js")) {
    return beside.string();
  }
  return LOUPE_SOURCE_WEB_DIR;
}

// TLS (mutual when a client CA is configured) or, when the configuration
// allows it, plain text with a warning.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcCredentials(
    const v1::ServerConfig& config) {
  const v1::TlsConfig& tls = config.tls();
  if (tls.cert_file().empty()) {
    std::cerr << "loupe-server: WARNING: listening without TLS "
                 "(allow_plaintext); tokens and files travel in clear\n";
    return grpc::InsecureServerCredentials();
  }
  auto cert = ReadFileToString(tls.cert_file());
  if (!cert.ok()) return cert.status();
  auto key = ReadFileToString(tls.key_file());
  if (!key.ok()) return key.status();
  grpc_ssl_client_certificate_request_type request =
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  std::string client_ca;
  if (!tls.client_ca_file().empty()) {
    auto ca = ReadFileToString(tls.client_ca_file());
    if (!ca.ok()) return ca.status();
    client_ca = *std::move(ca);
    request = tls.require_client_certificate()
                  ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                  : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  grpc::SslServerCredentialsOptions options(request);
  options.pem_root_certs = client_ca;
  options.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
  return grpc::SslServerCredentials(options);
}

class MetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(http::Metrics* metrics)
      : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(info, metrics_);
  }

 private:
  http::Metrics* metrics_;
};

}  // namespace

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
  auto store = storage::OpenStore(config);
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
  if (s->signer_ != nullptr && !config.witnessing().witnesses().empty()) {
    s->log_->SetWitnesses(ConfiguredWitnesses(config.witnessing()),
                          config.witnessing().quorum());
  }
  if (s->signer_ != nullptr) {
    s->checkpoints_ = std::make_unique<CheckpointPublisher>(
        s->log_.get(),
        std::chrono::milliseconds(config.log().checkpoint_interval_ms()));
  }
  // Measurements yield the CPU to the threads answering calls.
  s->geometry_pool_ = std::make_unique<WorkerPool>(config.geometry().workers(),
                                                   /*nice=*/10);
  s->geometry_ = std::make_unique<GeometryCache>(
      s->store_.get(), s->geometry_pool_.get(),
      GeometryCache::Options{
          .max_triangles = config.limits().max_mesh_triangles(),
          .threads = static_cast<int>(config.geometry().threads()),
          .max_entries = config.geometry().cache_entries(),
          .max_bytes = config.geometry().cache_bytes()});
  s->registry_ = std::make_unique<Registry>(
      s->store_.get(), s->policy_.get(), config.limits(), s->signer_.get(),
      s->log_.get(), s->geometry_.get(), s->checkpoints_.get());
  s->pool_ = std::make_unique<WorkerPool>(config.worker_threads());
  s->service_ = std::make_unique<RegistryService>(
      s->registry_.get(), s->policy_.get(), s->pool_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  const bool with_http = !config.http().listen_address().empty();
  const uint64_t nofile = DescriptorLimit();
  auto limits =
      ResolveConnectionLimits(config.limits(), nofile, with_http ? 2 : 1);
  if (!limits.ok()) return limits.status();
  // The gRPC listening socket is ours, not gRPC's (connection_gate.h).
  auto grpc_gate = ConnectionGate::Listen(
      config.listen_address(), {"grpc", "listen_address", *limits, ""});
  if (!grpc_gate.ok()) return grpc_gate.status();
  s->grpc_gate_ = *std::move(grpc_gate);
  s->port_ = s->grpc_gate_->port();
  std::unique_ptr<ConnectionGate> http_gate;
  if (with_http) {
    auto gate = http::HttpServer::Listen(config.http(), config.tls(), *limits);
    if (!gate.ok()) return gate.status();
    http_gate = *std::move(gate);
  }
  std::cout << "loupe-server: at most " << limits->max_connections
            << " connections on each listener, " << limits->max_per_address
            << " from one address (RLIMIT_NOFILE " << nofile << ")"
            << std::endl;

  grpc::ServerBuilder builder;
  auto credentials = GrpcCredentials(config);
  if (!credentials.ok()) return credentials.status();
  s->grpc_acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
      *credentials);
  builder.AddChannelArgument(
      GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
      static_cast<int>(config.limits().handshake_timeout_ms()));
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONCURRENT_STREAMS,
      static_cast<int>(config.limits().max_concurrent_streams()));
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(config.limits().max_message_bytes()));
  builder.SetMaxSendMessageSize(
      static_cast<int>(config.limits().max_message_bytes()));
  s->metrics_ = std::make_unique<http::Metrics>();
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(
      std::make_unique<MetricsInterceptorFactory>(s->metrics_.get()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(s->service_.get());
  s->log_service_ =
      std::make_unique<LogService>(s->log_.get(), s->checkpoints_.get());
  builder.RegisterService(s->log_service_.get());
  s->admin_ = std::make_unique<AdminService>(s->store_.get(), s->policy_.get());
  builder.RegisterService(s->admin_.get());
  s->grpc_ = builder.BuildAndStart();
  if (s->grpc_ == nullptr) {
    return absl::UnavailableError(
        StrCat("listen_address: the gRPC server did not start on ",
               config.listen_address()));
  }
  s->grpc_->GetHealthCheckService()->SetServingStatus(true);
  // Only now: the acceptor drops (and leaks) connections before the start.
  s->grpc_gate_->Start([acceptor = s->grpc_acceptor_.get(),
                        listener = s->grpc_gate_->listen_fd()](int fd) {
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
    p.listener_fd = listener;
    p.fd = fd;
    acceptor->HandleNewConnection(&p);
  });
  if (s->signer_ != nullptr && !config.witnessing().witnesses().empty()) {
    auto publisher = WitnessPublisher::Start(
        config.witnessing(), s->log_.get(), s->store_.get(), s->metrics_.get(),
        [checkpoints = s->checkpoints_.get()] {
          return checkpoints->leading();
        });
    if (!publisher.ok()) return publisher.status();
    s->publisher_ = *std::move(publisher);
  } else if (!config.witnessing().witnesses().empty()) {
    std::cerr << "loupe-server: WARNING: witnessing is configured but there "
                 "is no signing key, so no checkpoints to submit\n";
  }
  std::vector<std::string> roots;
  for (const auto& file : config.signing().root_files()) {
    auto text = ReadFileToString(file);
    if (!text.ok()) return text.status();
    while (!text->empty() && std::isspace(text->back())) text->pop_back();
    roots.push_back(*std::move(text));
  }
  if (auto s2 = s->StartStaticTiles(config, roots); !s2.ok()) return s2;
  if (with_http) {
    s->previews_ = std::make_unique<http::PreviewCache>(
        s->store_.get(), config.limits().max_mesh_triangles());
    const ConnectionGate* grpc_gate = s->grpc_gate_.get();
    std::vector<const ConnectionGate*> gates = {grpc_gate, http_gate.get()};
    s->gateway_ = std::make_unique<http::Gateway>(http::Gateway::Parts{
        s->registry_.get(), s->signer_ != nullptr ? s->log_.get() : nullptr,
        s->store_.get(), s->policy_.get(), s->metrics_.get(), config.data_dir(),
        WebDir(config.http()), std::move(roots), s->previews_.get(),
        [grpc_gate] { return grpc_gate->Accepting(); },
        [gates] { return ConnectionMetricsText(gates); },
        config.http().public_metrics(), s->pool_.get()});
    s->fresh_gateway_ = std::make_unique<http::FreshCheckpointHandler>(
        s->gateway_.get(), s->checkpoints_.get());
    auto gateway = http::HttpServer::Start(
        std::move(http_gate), config.http(), config.tls(),
        s->fresh_gateway_.get(), s->metrics_.get());
    if (!gateway.ok()) return gateway.status();
    s->http_ = *std::move(gateway);
  }
  return s;
}

namespace {

// log.static_tiles' destination: a directory, or a bucket whose settings
// not given there come from assets.s3.
absl::StatusOr<std::unique_ptr<ObjectSink>> StaticTilesSink(
    const v1::ServerConfig& config) {
  const auto& c = config.log().static_tiles();
  if (!c.has_s3()) return NewDirectorySink(c.directory());
  v1::ServerConfig merged;
  *merged.mutable_assets()->mutable_s3() = config.assets().s3();
  merged.mutable_assets()->mutable_s3()->MergeFrom(c.s3());
  auto setup = storage::s3::S3SetupFromConfig(merged);
  if (!setup.ok()) {
    return absl::InvalidArgumentError(StrCat(
        "log.static_tiles.s3 (or assets.s3): ", setup.status().message()));
  }
  auto client = storage::s3::S3Client::Create(setup->client);
  if (!client.ok()) return client.status();
  if (auto s = (*client)->CreateBucket(); !s.ok()) return s;
  return NewS3Sink(*std::move(client), c.prefix());
}

}  // namespace

absl::Status RegistryServer::StartStaticTiles(
    const v1::ServerConfig& config, const std::vector<std::string>& roots) {
  if (!config.log().has_static_tiles()) return absl::OkStatus();
  if (signer_ == nullptr) {
    std::cerr << "loupe-server: WARNING: log.static_tiles is configured but "
                 "there is no signing key, so no checkpoints to publish\n";
    return absl::OkStatus();
  }
  const auto& c = config.log().static_tiles();
  auto sink = StaticTilesSink(config);
  if (!sink.ok()) return sink.status();
  tile_sink_ = *std::move(sink);
  TilePublisher::Options options{
      .interval =
          std::chrono::milliseconds(config.log().checkpoint_interval_ms()),
      .max_objects_per_round = c.max_objects_per_round(),
      .checkpoint_max_age_seconds =
          static_cast<int>(c.checkpoint_max_age_seconds()),
      .partial_max_age_seconds = static_cast<int>(c.partial_max_age_seconds()),
      .trust_roots = roots};
  tiles_ = std::make_unique<TilePublisher>(
      store_.get(), [log = log_.get()] { return log->Checkpoint(); },
      tile_sink_.get(), std::move(options),
      [checkpoints = checkpoints_.get()] { return checkpoints->leading(); });
  tiles_->Start();
  std::cout << "loupe-server: publishing the log as static tiles to "
            << tile_sink_->Describe() << std::endl;
  return absl::OkStatus();
}

RegistryServer::~RegistryServer() { Shutdown(); }

void RegistryServer::Shutdown() {
  std::unique_lock<std::mutex> lock(mu_);
  if (stopped_ || grpc_ == nullptr) {
    stopped_ = true;
    return;
  }
  grpc_->GetHealthCheckService()->SetServingStatus(false);
  if (gateway_ != nullptr) gateway_->SetDraining();
  // Previews still queued are refused and those being drawn finish, so
  // that their answers are written before the gateway stops.
  if (previews_ != nullptr) previews_->Shutdown();
  // Answers the calls waiting for a checkpoint (HTTP ones before the HTTP
  // server stops); later ones are answered inline.
  if (checkpoints_ != nullptr) checkpoints_->Stop();
  if (http_ != nullptr) http_->Shutdown();
  grpc_gate_->Stop();  // New gRPC connections are refused from here.
  grpc_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (publisher_ != nullptr) publisher_->Stop();
  if (tiles_ != nullptr) tiles_->Stop();  // After the last checkpoint.
  geometry_->Stop();  // Measurements no call waits for are dropped.
  pool_.reset();      // Runs queued work, then joins.
  geometry_pool_.reset();
  admin_->WaitIdle();  // A scrub or backup in progress finishes.
  store_.reset();
  stopped_ = true;
  stopped_cv_.notify_all();
}

void RegistryServer::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  stopped_cv_.wait(lock, [this] { return stopped_; });
}

}  // namespace loupe::server
