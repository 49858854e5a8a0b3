#include "server/http/http_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "base/str_cat.h"

namespace loupe::server::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Shared {
  v1::HttpConfig config;
  const Handler* handler;
  Metrics* metrics;
  std::atomic<bool> stopping{false};
  std::atomic<int> sessions{0};
  std::atomic<int> busy{0};  // Requests read and not yet fully answered.
};

// One connection. `Stream` is beast::tcp_stream or an ssl_stream over one.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <typename... Tls>
  Session(Shared* shared, tcp::socket&& socket, Tls&... tls)
      : stream_(std::move(socket), tls...), shared_(shared) {
    ++shared_->sessions;
  }
  ~Session() { --shared_->sessions; }

  void Run() {
    net::dispatch(Lowest().get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Lowest().expires_after(
            std::chrono::milliseconds(self->shared_->config.read_timeout_ms()));
        self->stream_.async_handshake(
            net::ssl::stream_base::server, [self](beast::error_code ec) {
              if (ec) {  // Not TLS, or a bad client: count it and close.
                self->shared_->metrics->Record("http", "(tls handshake)",
                                               "failed", 0);
                return;
              }
              self->Read();
            });
      } else {
        self->Read();
      }
    });
  }

 private:
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void Read() {
    parser_.emplace();
    parser_->header_limit(shared_->config.max_header_bytes());
    // The body's limit is set once the handler has seen the head
    // (OnHeader): the parser would refuse a large Content-Length first.
    parser_->body_limit(UINT64_MAX);
    // One deadline for the whole request: trickling bytes does not extend
    // it. It is also how long an idle keep-alive connection stays open.
    Lowest().expires_after(
        std::chrono::milliseconds(shared_->config.read_timeout_ms()));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(
                                 &Session::OnHeader, this->shared_from_this()));
  }

  // The request as the handler sees it (the body once read).
  Request Current() {
    const auto& req = parser_->get();
    beast::error_code peer_error;
    const auto peer = Lowest().socket().remote_endpoint(peer_error);
    return Request{std::string(req.method_string()),
                   std::string(req.target()),
                   std::string(req[bhttp::field::authorization]),
                   peer_error ? std::string("unknown:0")
                              : StrCat("ip:", peer.address().to_string(), ":",
                                       peer.port()),
                   req.body(),
                   std::string(req[bhttp::field::content_type]),
                   std::string(req[bhttp::field::accept_language]),
                   parser_->content_length()
                       ? std::optional<uint64_t>(*parser_->content_length())
                       : std::nullopt};
  }

  // The head has arrived: the handler sets the body's limits (or refuses
  // the request before its body is read), then the body is read.
  void OnHeader(beast::error_code ec, size_t) {
    if (Failed(ec)) return;
    BodyAdmission admission = shared_->handler->AdmitBody(Current());
    if (admission.refusal) {
      ++shared_->busy;
      body_unread_ = true;
      return Respond(*std::move(admission.refusal), Clock::now(),
                     /*close=*/true);
    }
    hold_ = std::move(admission.hold);
    body_limit_ = admission.max_body_bytes > 0
                      ? admission.max_body_bytes
                      : shared_->config.max_body_bytes();
    if (parser_->content_length().value_or(0) > body_limit_) {
      return (void)Failed(bhttp::error::body_limit);
    }
    parser_->body_limit(body_limit_);
    if (admission.read_timeout_ms > 0) {
      Lowest().expires_after(
          std::chrono::milliseconds(admission.read_timeout_ms));
    }
    bhttp::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnRead, this->shared_from_this()));
  }

  // Answers or closes for a failed read; false if `ec` is no failure.
  bool Failed(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) {
      Refuse(bhttp::status::request_header_fields_too_large,
             StrCat("request head: larger than ",
                    shared_->config.max_header_bytes(), " bytes\n"));
      return true;
    }
    if (ec == bhttp::error::body_limit) {
      Refuse(bhttp::status::payload_too_large,
             StrCat("request body: larger than ", body_limit_, " bytes\n"));
      return true;
    }
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted ||
        ec == net::ssl::error::stream_truncated) {
      Close();
      return true;
    }
    if (ec) {  // A malformed request.
      Refuse(bhttp::status::bad_request,
             StrCat("request: ", ec.message(), "\n"));
      return true;
    }
    return false;
  }

  void OnRead(beast::error_code ec, size_t) {
    if (Failed(ec)) return;
    ++shared_->busy;
    const auto start = Clock::now();
    // The handler answers here or later from another thread (a preview
    // being drawn); either way the answer is written on this session's
    // strand, and the I/O thread is free meanwhile.
    shared_->handler->HandleAsync(
        Current(), [self = this->shared_from_this(), start](Response response) {
          net::post(self->stream_.get_executor(),
                    [self, start, response = std::move(response)]() mutable {
                      self->Respond(std::move(response), start);
                    });
        });
  }

  // Writes the handler's answer to the request parser_ holds; `close`:
  // then the connection closes (its body was not read).
  void Respond(Response response, Clock::time_point start, bool close = false) {
    const auto& req = parser_->get();
    const double seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    shared_->metrics->Record("http", response.route,
                             std::to_string(response.status), seconds);
    const bool keep_alive = !close && req.keep_alive() && !shared_->stopping;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), req.version());
    res->set(bhttp::field::server, "loupe");
    res->set(bhttp::field::content_type, response.content_type);
    bool has_length = false;
    for (const auto& [name, value] : response.headers) {
      res->set(name, value);
      has_length = has_length || name == "Content-Length";
    }
    res->body() = std::move(response.body);
    if (!has_length) res->prepare_payload();
    res->keep_alive(keep_alive);
    Write(res, !keep_alive);
  }

  void Refuse(bhttp::status status, std::string text) {
    body_unread_ = true;
    shared_->metrics->Record("http", "(refused)",
                             std::to_string(static_cast<int>(status)), 0);
    auto res =
        std::make_shared<bhttp::response<bhttp::string_body>>(status, 11);
    res->set(bhttp::field::server, "loupe");
    res->set(bhttp::field::content_type, "text/plain; charset=utf-8");
    res->body() = std::move(text);
    res->prepare_payload();
    res->keep_alive(false);
    ++shared_->busy;
    Write(res, true);
  }

  void Write(std::shared_ptr<bhttp::response<bhttp::string_body>> res,
             bool close) {
    Lowest().expires_after(
        std::chrono::milliseconds(shared_->config.read_timeout_ms()));
    bhttp::async_write(stream_, *res,
                       [self = this->shared_from_this(), res, close](
                           beast::error_code ec, size_t) {
                         --self->shared_->busy;
                         self->hold_.reset();
                         if (ec || close || self->shared_->stopping) {
                           if (self->body_unread_ && !ec) return self->Linger();
                           return self->Close();
                         }
                         self->Read();
                       });
  }

  void Close() {
    if constexpr (kTls) {
      // A TLS close_notify, bounded by the timeout; then the socket goes.
      Lowest().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ec;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  // The answer refused a body it did not read, and the client may still be
  // sending it: a browser reads the answer only once the whole body is
  // sent, and a socket (or TLS session) closed on a client still sending
  // loses the answer ("could not be reached"). So the rest of the body, up
  // to its Content-Length and at most kLingerBytes, is read and dropped
  // within kLingerTime; then the connection closes.
  void Linger() {
    uint64_t left = kLingerBytes;
    if (parser_ && parser_->content_length()) {
      left = std::min<uint64_t>(*parser_->content_length(), kLingerBytes);
    }
    left -= std::min<uint64_t>(left, buffer_.size());
    buffer_.consume(buffer_.size());
    if constexpr (!kTls) {  // The answer ends here for the client.
      beast::error_code ec;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    }
    Lowest().expires_after(kLingerTime);
    Drain(left);
  }

  void Drain(uint64_t left) {
    if (left == 0) return Close();
    if (drain_ == nullptr) drain_ = std::make_unique<char[]>(kDrainBytes);
    stream_.async_read_some(
        net::buffer(drain_.get(), std::min<uint64_t>(kDrainBytes, left)),
        [self = this->shared_from_this(), left](beast::error_code ec,
                                                size_t n) {
          if (!ec) self->Drain(left - std::min<uint64_t>(left, n));
        });
  }

  static constexpr size_t kDrainBytes = 16 << 10;
  static constexpr uint64_t kLingerBytes = 256 << 20;
  static constexpr auto kLingerTime = std::chrono::seconds(30);
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  uint64_t body_limit_ = 0;        // The current request's.
  std::shared_ptr<void> hold_;     // The current request's (BodyAdmission).
  bool body_unread_ = false;       // The answer refused a body it did not read.
  std::unique_ptr<char[]> drain_;  // Linger(): what is dropped.
  Shared* shared_;
};

}  // namespace

struct HttpServer::Impl {
  Shared shared;
  std::optional<net::ssl::context> tls;
  net::io_context ioc;
  // Keeps the threads in ioc.run() while no connection is open.
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::unique_ptr<ConnectionGate> gate;
  std::vector<std::thread> threads;
  std::once_flag shutdown_once;

  // On the gate's thread: a session for the admitted connection `fd`.
  void Admit(int fd) {
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    beast::error_code ec;
    tcp::socket socket(net::make_strand(ioc));
    if (shared.stopping ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
      ::close(fd);
      return;
    }
    socket.assign(local.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
    if (ec) {
      ::close(fd);
    } else if (tls) {
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          &shared, std::move(socket), *tls)
          ->Run();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(&shared, std::move(socket))
          ->Run();
    }
  }
};

namespace {

// What a plain-HTTP client over a connection limit reads before the close.
std::string Refusal() {
  const std::string body =
      "connections: over the limit for this address or in total\n";
  return StrCat(
      "HTTP/1.1 503 Service Unavailable\r\nServer: loupe\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\n"
      "Connection: close\r\nContent-Length: ",
      body.size(), "\r\n\r\n", body);
}

}  // namespace

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<ConnectionGate>> HttpServer::Listen(
    const v1::HttpConfig& config, const v1::TlsConfig& tls,
    const ConnectionLimits& limits) {
  return ConnectionGate::Listen(config.listen_address(),
                                {"http", "http.listen_address", limits,
                                 tls.cert_file().empty() ? Refusal() : ""});
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const v1::HttpConfig& config, const v1::TlsConfig& tls,
    const Handler* handler, Metrics* metrics) {
  auto limits =
      ResolveConnectionLimits(v1::LimitsConfig(), DescriptorLimit(), 1);
  if (!limits.ok()) return limits.status();
  auto gate = Listen(config, tls, *limits);
  if (!gate.ok()) return gate.status();
  return Start(*std::move(gate), config, tls, handler, metrics);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    std::unique_ptr<ConnectionGate> gate, const v1::HttpConfig& config,
    const v1::TlsConfig& tls, const Handler* handler, Metrics* metrics) {
  auto impl = std::make_unique<Impl>();
  if (!tls.cert_file().empty()) {
    impl->tls.emplace(net::ssl::context::tls_server);
    impl->tls->set_options(
        net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
        net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
        net::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    impl->tls->use_certificate_chain_file(tls.cert_file(), ec);
    if (ec) {
      return absl::InvalidArgumentError(
          StrCat("tls.cert_file: ", tls.cert_file(), ": ", ec.message()));
    }
    impl->tls->use_private_key_file(tls.key_file(), net::ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          StrCat("tls.key_file: ", tls.key_file(), ": ", ec.message()));
    }
  }
  impl->shared.config = config;
  impl->shared.handler = handler;
  impl->shared.metrics = metrics;
  impl->work.emplace(impl->ioc.get_executor());
  impl->gate = std::move(gate);
  impl->gate->Start([impl = impl.get()](int fd) { impl->Admit(fd); });
  const int threads = std::max<int>(1, config.threads());
  for (int i = 0; i < threads; ++i) {
    impl->threads.emplace_back([ioc = &impl->ioc] { ioc->run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->gate->port(); }

void HttpServer::Shutdown() {
  std::call_once(impl_->shutdown_once, [this] {
    Impl& impl = *impl_;
    impl.shared.stopping = true;
    impl.gate->Stop();
    // Requests in flight finish (up to 5 s; their connections then close,
    // as keep-alive is off once stopping); idle connections are dropped.
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (impl.shared.busy > 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    impl.work.reset();
    impl.ioc.stop();
    for (auto& t : impl.threads) t.join();
  });
}

HttpServer::~HttpServer() { Shutdown(); }

}  // namespace loupe::server::http
