#include "server/http/preview.h"

#include <cstring>

#include "base/str_cat.h"
#include "geometry/read_mesh.h"
#include "geometry/simplify.h"
#include "server/geometry_summary.h"

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

absl::StatusOr<std::shared_ptr<const std::string>> PreviewCache::For(
    const v1::TwinVersion& version) {
  const v1::AssetRef* asset = nullptr;
  for (const auto& a : version.assets()) {
    if (IsMeshAsset(a) && a.size_bytes() <= kMaxMeasuredMeshBytes) {
      asset = &a;
      break;
    }
  }
  if (asset == nullptr) {
    return absl::NotFoundError(StrCat("version ", version.number(),
                                      " has no scan or CAD mesh to preview"));
  }
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(asset->sha256()); it != cache_.end()) {
      return it->second;
    }
  }
  auto sha = crypto::ParseSha256Hex(asset->sha256());
  if (!sha.ok()) return sha.status();
  auto bytes = storage::ReadAssetBytes(*store_, *sha);
  if (!bytes.ok()) return bytes.status();
  auto mesh = ReadLimitedMesh(*bytes, asset->file_name(), max_triangles_);
  if (absl::IsResourceExhausted(mesh.status())) return mesh.status();
  if (!mesh.ok()) {
    return absl::InvalidArgumentError(
        StrCat(asset->file_name(),
               ": not a readable mesh: ", mesh.status().message()));
  }
  auto preview = std::make_shared<const std::string>(
      Encode(geometry::ClusterPreview(mesh->mesh, kPreviewTriangles).mesh));
  std::lock_guard lock(mu_);
  if (cache_.size() >= 32) cache_.erase(cache_.begin());
  cache_[asset->sha256()] = preview;
  return preview;
}

}  // namespace loupe::server::http
