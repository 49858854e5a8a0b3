#pragma once

// Token buckets by key (a principal, a client address): each key may make
// `per_second` requests per second on average and `2 x per_second` at once.
// Thread-safe. Keys idle for a minute are forgotten once there are many.

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"

namespace loupe::server {

class RateLimiter {
 public:
  explicit RateLimiter(double per_second) : per_second_(per_second) {}
  // With a burst other than 2 x per_second (identification: a minute's
  // worth).
  RateLimiter(double per_second, double burst)
      : per_second_(per_second), burst_(burst) {}

  // OK and one request spent, or RESOURCE_EXHAUSTED naming `who` and the
  // rate.
  [[nodiscard]] absl::Status Admit(const std::string& key,
                                   std::string_view who);

 private:
  using Clock = std::chrono::steady_clock;
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  const double per_second_;
  const double burst_ = 0;  // 0: 2 x per_second_.
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace loupe::server
