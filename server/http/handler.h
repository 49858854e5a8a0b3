#pragma once

// What HttpServer serves: a request handler with no sockets, so each one
// (the registry's gateway, a witness) is tested directly and served by the
// same transport (http_server.h).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace loupe::server::http {

struct Request {
  std::string method;         // "GET", "HEAD", ...
  std::string target;         // Path and query, as sent.
  std::string authorization;  // The Authorization header, if any.
  std::string peer;  // The client's address ("ip:1.2.3.4:5"), for rates.
  std::string body;  // Within http.max_body_bytes.
  std::string content_type;     // The Content-Type header, if any.
  std::string accept_language;  // The Accept-Language header, if any.
  // The Content-Length header (the body's declared size), if any.
  std::optional<uint64_t> content_length;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string route;  // The route's pattern, for metrics ("/tile/{L}/{N}").
};

// What a handler decides once a request's head has arrived, before its
// body is read (Handler::AdmitBody).
struct BodyAdmission {
  // Answered at once, and the connection closed: the body is not read.
  std::optional<Response> refusal;
  // The body's limit and the request's deadline; 0: http.max_body_bytes
  // and http.read_timeout_ms.
  uint64_t max_body_bytes = 0;
  uint64_t read_timeout_ms = 0;
  // Kept by the server until the answer is written or the connection
  // ends, whichever comes first (a slot the handler counts).
  std::shared_ptr<void> hold;
};

// Thread-safe: Handle() and HandleAsync() may run on many threads at once.
class Handler {
 public:
  using Done = std::function<void(Response)>;

  virtual ~Handler() = default;
  [[nodiscard]] virtual Response Handle(const Request& request) const = 0;

  // What HttpServer calls, on an I/O thread: answers `request` by calling
  // `done` exactly once, on any thread, before or after returning. It must
  // not block: a route whose work is slow (Gateway's previews) overrides
  // this to finish elsewhere (copying what it needs of `request`, which
  // lives only until this returns). By default, Handle() inline.
  virtual void HandleAsync(const Request& request, Done done) const {
    done(Handle(request));
  }

  // Called on an I/O thread (it must not block) with the request's head
  // (no body yet): a route that takes large bodies raises the limits for
  // callers it admits, and refuses the others before their bytes arrive.
  // By default, the configured limits.
  [[nodiscard]] virtual BodyAdmission AdmitBody(const Request& head) const {
    return {};
  }
};

}  // namespace loupe::server::http
