#pragma once

// The HTTP gateway's transport (Boost.Beast, after its advanced_server
// example): an acceptor and one session per connection, each on its own
// strand, over TLS (a handshake within the read timeout) or plain TCP; a
// request's head and body must arrive within read_timeout_ms (so a client
// trickling bytes is cut off) and within the header and body limits (431, 413);
// keep-alive; a request refused from its head is answered at once, and
// what the client still sends of its body is read and dropped (bounded)
// before the close, so that a client that reads only after sending gets
// the answer; every request answered by the Handler's HandleAsync (an answer
// that comes later, from another thread, is written on the connection's
// strand; the I/O thread serves others meanwhile). Connections come
// through a ConnectionGate (server/connection_gate.h): at most so many in
// total and per client address, the rest answered 503 (plain HTTP) and
// closed; running out of descriptors backs off instead of spinning.
// Shutdown stops accepting, lets requests in flight finish (up to 5 s) and
// joins the threads; a handler answering later must have answered (or
// refused) all it holds before the server is destroyed
// (PreviewCache::Shutdown first).
//
// Thread-safe: Shutdown() may be called from any thread.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "loupe/v1/config.pb.h"
#include "server/http/connection_gate.h"
#include "server/http/handler.h"
#include "server/http/metrics.h"

namespace loupe::server::http {

class HttpServer {
 public:
  // Listens on config.listen_address() (port 0 picks one), speaking HTTPS
  // with tls.cert_file and tls.key_file when they are set (plain HTTP
  // otherwise). `handler` and `metrics` must outlive the server.
  // UNAVAILABLE naming http.listen_address if it cannot listen;
  // INVALID_ARGUMENT naming tls.* if the certificate or key do not load.
  // Connections are limited as ResolveConnectionLimits() gives for the
  // default limits and one listener.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const v1::HttpConfig& config, const v1::TlsConfig& tls,
      const Handler* handler, Metrics* metrics);
  // Listens on config.listen_address() within `limits`, for the Start()
  // below; errors as Start()'s.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ConnectionGate>> Listen(
      const v1::HttpConfig& config, const v1::TlsConfig& tls,
      const ConnectionLimits& limits);
  // The same as Start() above on a gate from Listen(), which the server
  // then owns: the caller may keep a pointer to
  // it (for Accepting() and MetricsText()) while the server lives.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      std::unique_ptr<ConnectionGate> gate, const v1::HttpConfig& config,
      const v1::TlsConfig& tls, const Handler* handler, Metrics* metrics);
  ~HttpServer();

  int port() const;
  void Shutdown();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loupe::server::http
