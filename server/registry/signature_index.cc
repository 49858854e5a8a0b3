#include "server/registry/signature_index.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace loupe::server {

void SignatureIndex::AddLocked(
    const IndexedTwin& twin, float diameter, float width,
    const std::array<float, geometry::kDescriptorSize>& d) {
  if (!keys_.emplace(twin.piece_id, twin.version, twin.asset_sha256).second) {
    return;
  }
  diameters_.push_back(diameter);
  widths_.push_back(width);
  descriptors_.insert(descriptors_.end(), d.begin(), d.end());
  twins_.push_back(twin);
}

void SignatureIndex::Add(const v1::TwinVersion& version) {
  std::unique_lock lock(mu_);
  for (const auto& g : version.geometry()) {
    const v1::ShapeSignature& s = g.signature();
    std::array<float, geometry::kDescriptorSize> d;
    if (s.version() != geometry::kSignatureVersion ||
        !geometry::UnpackDescriptor(s.profile_density(), &d)) {
      continue;
    }
    IndexedTwin twin{version.piece_id(),
                     version.number(),
                     g.asset_sha256(),
                     {{s.axis().x(), s.axis().y(), s.axis().z()},
                      {s.center().x(), s.center().y(), s.center().z()}}};
    AddLocked(twin, static_cast<float>(s.inner_diameter_mm()),
              static_cast<float>(s.band_width_mm()), d);
  }
}

void SignatureIndex::AddSignature(const IndexedTwin& twin,
                                  const geometry::ShapeSignature& signature) {
  std::unique_lock lock(mu_);
  AddLocked(twin, static_cast<float>(signature.inner_diameter_mm),
            static_cast<float>(signature.band_width_mm), signature.descriptor);
}

absl::Status SignatureIndex::Rebuild(storage::Store& store) {
  // Versions logged from here on are read by CatchUp (again, if this scan
  // sees them too: adding is idempotent).
  auto size = store.LogSize();
  if (!size.ok()) return size.status();
  {
    std::lock_guard lock(catch_up_mu_);
    log_read_ = *size;
  }
  std::string after;
  for (;;) {
    auto page = store.ListPieces("", after, 500);
    if (!page.ok()) return page.status();
    for (const auto& piece : page->pieces) {
      uint32_t from = 0;
      for (;;) {
        auto versions = store.ListVersions(piece.id(), from, 100);
        if (!versions.ok()) return versions.status();
        for (const auto& v : versions->versions) Add(v);
        if (!versions->last_number) break;
        from = *versions->last_number;
      }
    }
    if (!page->last_key) break;
    after = *page->last_key;
  }
  return absl::OkStatus();
}

absl::Status SignatureIndex::CatchUp(storage::Store& store) {
  std::lock_guard lock(catch_up_mu_);
  auto size = store.LogSize();
  if (!size.ok()) return size.status();
  constexpr size_t kBatch = 1000;
  while (log_read_ < *size) {
    auto entries = store.LogEntries(
        log_read_, std::min<uint64_t>(kBatch, *size - log_read_));
    if (!entries.ok()) return entries.status();
    if (entries->empty()) break;
    for (const std::string& entry : *entries) {
      const auto json = nlohmann::json::parse(entry, nullptr, false);
      if (json.is_object() && json.value("type", "") == "version") {
        auto version = store.GetVersion(json.value("piece_id", ""),
                                        json.value("version", 0u));
        if (!version.ok()) return version.status();
        Add(*version);
      }
      ++log_read_;
    }
  }
  return absl::OkStatus();
}

std::vector<IndexHit> SignatureIndex::Nearest(
    const geometry::ShapeSignature& scan, size_t assets) const {
  std::shared_lock lock(mu_);
  const float lo = scan.inner_diameter_mm - options_.diameter_window_mm;
  const float hi = scan.inner_diameter_mm + options_.diameter_window_mm;
  std::vector<std::pair<double, size_t>> scored;
  for (size_t i = 0; i < diameters_.size(); ++i) {
    if (diameters_[i] < lo || diameters_[i] > hi) continue;
    const double d =
        geometry::DescriptorDistance(
            scan.descriptor.data(),
            descriptors_.data() + i * geometry::kDescriptorSize) +
        std::abs(diameters_[i] - scan.inner_diameter_mm) /
            options_.diameter_weight +
        std::abs(widths_[i] - scan.band_width_mm) / options_.width_weight;
    scored.emplace_back(d, i);
  }
  std::sort(scored.begin(), scored.end());
  // The nearest `assets` distinct assets, with every entry sharing one.
  std::unordered_map<std::string, bool> chosen;
  std::vector<IndexHit> out;
  for (const auto& [d, i] : scored) {
    const std::string& sha = twins_[i].asset_sha256;
    if (!chosen.contains(sha)) {
      if (chosen.size() >= assets) continue;
      chosen[sha] = true;
    }
    out.push_back({twins_[i], d});
  }
  return out;
}

size_t SignatureIndex::size() const {
  std::shared_lock lock(mu_);
  return twins_.size();
}

}  // namespace loupe::server
