#include "server/policy/rate_limiter.h"

#include <algorithm>

#include "base/str_cat.h"

namespace loupe::server {

absl::Status RateLimiter::Admit(const std::string& key, std::string_view who) {
  const double burst = burst_ > 0 ? burst_ : 2 * per_second_;
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  if (buckets_.size() > 100000) {
    std::erase_if(buckets_, [&](const auto& entry) {
      return now - entry.second.last > std::chrono::minutes(1);
    });
  }
  auto [it, added] = buckets_.try_emplace(key, Bucket{burst, now});
  Bucket& b = it->second;
  b.tokens = std::min(
      burst,
      b.tokens +
          per_second_ * std::chrono::duration<double>(now - b.last).count());
  b.last = now;
  if (b.tokens < 1) {
    return absl::ResourceExhaustedError(
        StrCat("rate: ", who, " is over ", per_second_,
               " requests per second (limits); slow down and retry"));
  }
  b.tokens -= 1;
  return absl::OkStatus();
}

}  // namespace loupe::server
