#include "server/http/preview.h"

#include <algorithm>
#include <cstring>

#include "base/str_cat.h"
#include "geometry/read_mesh.h"
#include "geometry/simplify.h"
#include "server/http/glb.h"
#include "server/registry/geometry_summary.h"

namespace loupe::server::http {
namespace {

template <typename T>
void Put(std::string* out, T value) {
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));  // x86 and ARM: little-endian.
  out->append(raw, sizeof(T));
}

std::string Encode(const geometry::Mesh& mesh) {
  std::string out = "LPV1";
  out.reserve(12 + mesh.vertices.size() * 12 + mesh.triangles.size() * 12);
  Put<uint32_t>(&out, mesh.vertices.size());
  Put<uint32_t>(&out, mesh.triangles.size());
  for (const auto& v : mesh.vertices) {
    Put<float>(&out, v.x);
    Put<float>(&out, v.y);
    Put<float>(&out, v.z);
  }
  for (const auto& t : mesh.triangles) {
    for (uint32_t corner : t) Put<uint32_t>(&out, corner);
  }
  return out;
}

}  // namespace

PreviewCache::PreviewCache(storage::Store* store, uint64_t max_triangles)
    : PreviewCache(store, max_triangles, Options()) {}

PreviewCache::PreviewCache(storage::Store* store, uint64_t max_triangles,
                           Options options)
    : store_(store),
      max_triangles_(max_triangles),
      options_(std::move(options)),
      pool_(
          std::make_unique<WorkerPool>(std::max<size_t>(1, options_.threads))) {
}

PreviewCache::~PreviewCache() { Shutdown(); }

void PreviewCache::Get(const v1::TwinVersion& version, PreviewFormat format,
                       Callback done) {
  const v1::AssetRef* asset = nullptr;
  for (const auto& a : version.assets()) {
    if (IsMeshAsset(a) && a.size_bytes() <= kMaxMeasuredMeshBytes) {
      asset = &a;
      break;
    }
  }
  if (asset == nullptr) {
    return done(absl::NotFoundError(StrCat(
        "version ", version.number(), " has no scan or CAD mesh to preview")));
  }
  Job job{*asset, format, version.assay().alloy(), asset->sha256()};
  if (format == PreviewFormat::kGlb) {
    const MetalColour c = MetalColourOf(job.alloy);
    job.key += StrCat(".glb/", c.r, ",", c.g, ",", c.b);
  }
  absl::StatusOr<Preview> now = nullptr;
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(job.key); it != cache_.end()) {
      now = it->second;
    } else if (stopping_) {
      now = absl::UnavailableError("previews: the server is shutting down");
    } else if (auto it = pending_.find(job.key); it != pending_.end()) {
      it->second.push_back(std::move(done));  // The same computation.
      return;
    } else if (pending_.size() >= options_.max_pending) {
      now =
          absl::UnavailableError(StrCat("previews: ", pending_.size(),
                                        " are being drawn; retry in a moment"));
    } else {
      pending_[job.key].push_back(std::move(done));
      pool_->Submit([this, job = std::move(job)] { Run(job); });
      return;
    }
  }
  done(std::move(now));
}

void PreviewCache::Run(const Job& job) {
  const v1::AssetRef& asset = job.asset;
  bool stopping;
  {
    std::lock_guard lock(mu_);
    stopping = stopping_;
  }
  absl::StatusOr<Preview> result =
      absl::UnavailableError("previews: the server is shutting down");
  if (!stopping) {
    auto bytes = options_.compute ? options_.compute(asset) : Make(asset);
    if (bytes.ok() && job.format == PreviewFormat::kGlb) {
      bytes = PreviewToGlb(*bytes, MetalColourOf(job.alloy));
    }
    if (bytes.ok()) {
      result = std::make_shared<const std::string>(*std::move(bytes));
    } else {
      result = bytes.status();
    }
  }
  std::vector<Callback> waiters;
  {
    std::lock_guard lock(mu_);
    if (result.ok()) {
      if (cache_.size() >= 32) cache_.erase(cache_.begin());
      cache_[job.key] = *result;
    }
    auto it = pending_.find(job.key);
    waiters = std::move(it->second);
    pending_.erase(it);
  }
  for (auto& done : waiters) done(result);
}

void PreviewCache::Shutdown() {
  std::unique_ptr<WorkerPool> pool;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    pool = std::move(pool_);
  }
  pool.reset();  // Queued work answers at once; running work finishes.
}

absl::StatusOr<std::string> PreviewCache::Make(
    const v1::AssetRef& asset) const {
  auto sha = crypto::ParseSha256Hex(asset.sha256());
  if (!sha.ok()) return sha.status();
  auto bytes = storage::ReadAssetBytes(*store_, *sha);
  if (!bytes.ok()) return bytes.status();
  auto mesh = ReadLimitedMesh(*bytes, asset.file_name(), max_triangles_);
  if (absl::IsResourceExhausted(mesh.status())) return mesh.status();
  if (!mesh.ok()) {
    return absl::InvalidArgumentError(StrCat(
        asset.file_name(), ": not a readable mesh: ", mesh.status().message()));
  }
  return Encode(geometry::ClusterPreview(mesh->mesh, kPreviewTriangles).mesh);
}

}  // namespace loupe::server::http
