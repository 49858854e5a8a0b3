#pragma once

// Counters and latency sums for /metrics (Prometheus text format 0.0.4):
// requests by protocol, route or method, and status code. Thread-safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace loupe::server::http {

class Metrics {
 public:
  // `protocol` is "http" or "grpc"; `name` the route or RPC method;
  // `code` the HTTP status or gRPC status code name.
  void Record(std::string_view protocol, std::string_view name,
              std::string_view code, double seconds);

  // loupe_requests_total{protocol,name,code} and
  // loupe_request_seconds_{sum,count}{protocol,name}, one sample per line.
  [[nodiscard]] std::string Render() const;

 private:
  struct Latency {
    double sum = 0;
    uint64_t count = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> counts_;
  std::map<std::pair<std::string, std::string>, Latency> latency_;
};

}  // namespace loupe::server::http
