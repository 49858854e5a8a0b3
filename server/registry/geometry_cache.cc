#include "server/registry/geometry_cache.h"

namespace loupe::server {
namespace {

// What an entry costs: its summary, key and bookkeeping.
size_t CostOf(const GeometryCache::Measurement& m) {
  return sizeof(MeshMeasurement) + m->summary.SpaceUsedLong() +
         m->mesh_status.message().size() + 128;
}

}  // namespace

void GeometryCache::Prefetch(const crypto::Sha256Digest& sha256,
                             std::string format) {
  Key key{sha256, std::move(format)};
  {
    std::lock_guard lock(mu_);
    if (stopping_ || entries_.contains(key) || pending_.contains(key)) return;
    pending_.emplace(key, std::vector<Callback>{});
  }
  Start(key);
}

void GeometryCache::Get(const crypto::Sha256Digest& sha256, std::string format,
                        Callback done) {
  Key key{sha256, std::move(format)};
  Measurement hit;
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.in_lru);
      ++stats_.hits;
      hit = it->second.measurement;
    } else if (auto p = pending_.find(key); p != pending_.end()) {
      p->second.push_back(std::move(done));
      return;
    } else {
      pending_[key].push_back(std::move(done));
    }
  }
  if (hit) return done(std::move(hit));
  Start(key);
}

void GeometryCache::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
}

GeometryCache::Stats GeometryCache::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.entries = entries_.size();
  s.bytes = bytes_;
  return s;
}

void GeometryCache::Start(const Key& key) {
  if (pool_ == nullptr) return Measure(key);
  pool_->Submit([this, key] { Measure(key); });
}

void GeometryCache::Measure(const Key& key) {
  {
    std::lock_guard lock(mu_);
    auto p = pending_.find(key);
    if (stopping_ && p != pending_.end() && p->second.empty()) {
      pending_.erase(p);  // Only a prefetch wanted it.
      return;
    }
    ++stats_.measured;
  }
  absl::StatusOr<Measurement> result;
  {  // The bytes (up to 512 MiB) are freed before the waiters run.
    auto bytes = storage::ReadAssetBytes(*store_, key.first);
    if (bytes.ok()) {
      result = std::make_shared<const MeshMeasurement>(MeasureMesh(
          *bytes, key.second, options_.max_triangles, options_.threads));
    } else {
      result = bytes.status();
    }
  }
  std::vector<Callback> waiters;
  {
    std::lock_guard lock(mu_);
    auto p = pending_.find(key);
    if (p != pending_.end()) {
      waiters = std::move(p->second);
      pending_.erase(p);
    }
    if (result.ok()) Insert(key, *result);
  }
  for (auto& done : waiters) done(result);
}

void GeometryCache::Insert(const Key& key, Measurement measurement) {
  const size_t cost = CostOf(measurement);
  if (cost > options_.max_bytes || options_.max_entries == 0) return;
  lru_.push_front(key);
  auto [it, inserted] = entries_.try_emplace(key);
  if (!inserted) {  // Measured twice (a race with an eviction): replace.
    bytes_ -= it->second.bytes;
    lru_.erase(it->second.in_lru);
  }
  it->second = Entry{std::move(measurement), cost, lru_.begin()};
  bytes_ += cost;
  while (entries_.size() > options_.max_entries ||
         bytes_ > options_.max_bytes) {
    auto last = entries_.find(lru_.back());
    bytes_ -= last->second.bytes;
    entries_.erase(last);
    lru_.pop_back();
  }
}

}  // namespace loupe::server
