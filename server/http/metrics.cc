#include "server/http/metrics.h"

#include <cstdio>

namespace loupe::server::http {
namespace {

// Label values are ours (routes, method names, codes), but escape anyway.
std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void Metrics::Record(std::string_view protocol, std::string_view name,
                     std::string_view code, double seconds) {
  std::lock_guard lock(mu_);
  ++counts_[{std::string(protocol), std::string(name), std::string(code)}];
  Latency& l = latency_[{std::string(protocol), std::string(name)}];
  l.sum += seconds;
  ++l.count;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out =
      "# HELP loupe_requests_total Requests answered, by protocol, route or "
      "method, and status.\n# TYPE loupe_requests_total counter\n";
  for (const auto& [key, n] : counts_) {
    const auto& [protocol, name, code] = key;
    out += "loupe_requests_total{protocol=\"" + Escape(protocol) +
           "\",name=\"" + Escape(name) + "\",code=\"" + Escape(code) + "\"} " +
           std::to_string(n) + "\n";
  }
  out +=
      "# HELP loupe_request_seconds Time to answer, by protocol and route or "
      "method.\n# TYPE loupe_request_seconds summary\n";
  for (const auto& [key, l] : latency_) {
    const std::string labels = "{protocol=\"" + Escape(key.first) +
                               "\",name=\"" + Escape(key.second) + "\"}";
    char sum[64];
    std::snprintf(sum, sizeof sum, "%.9f", l.sum);
    out += "loupe_request_seconds_sum" + labels + " " + sum + "\n";
    out += "loupe_request_seconds_count" + labels + " " +
           std::to_string(l.count) + "\n";
  }
  return out;
}

}  // namespace loupe::server::http
