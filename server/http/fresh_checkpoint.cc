#include "server/http/fresh_checkpoint.h"

#include <string>

#include "server/http/responses.h"

namespace loupe::server::http {

bool FreshCheckpointHandler::ServesNewestCheckpoint(std::string_view target) {
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? "" : target.substr(q + 1);
  auto absent_or_zero = [query](std::string_view key) {
    const std::string_view v = QueryValue(query, key);
    return v.empty() || v.find_first_not_of('0') == std::string_view::npos;
  };
  // Certificates' proofs are against the newest checkpoint too.
  return path == "/checkpoint" || path == "/api/v1/log/checkpoint" ||
         path.starts_with("/api/v1/certificates/") ||
         path.starts_with("/verify/") ||
         (path == "/api/v1/log/inclusion" && absent_or_zero("tree_size")) ||
         (path == "/api/v1/log/consistency" && absent_or_zero("new_size"));
}

void FreshCheckpointHandler::HandleAsync(const Request& request,
                                         Done done) const {
  if (publisher_ == nullptr || !ServesNewestCheckpoint(request.target)) {
    return inner_->HandleAsync(request, std::move(done));
  }
  // `request` lives only until this returns.
  publisher_->AfterCoveringNow(
      [inner = inner_, request = request, done = std::move(done)] {
        inner->HandleAsync(request, done);
      });
}

}  // namespace loupe::server::http
