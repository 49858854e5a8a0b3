#pragma once

// What HttpServer serves: a request handler with no sockets, so each one
// (the registry's gateway, a witness) is tested directly and served by the
// same transport (http_server.h).

#include <functional>
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
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string route;  // The route's pattern, for metrics ("/tile/{L}/{N}").
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
};

}  // namespace loupe::server::http
