#include "server/registry/geometry_summary.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "base/str_cat.h"
#include "geometry/geometry_hash.h"
#include "geometry/measure.h"
#include "geometry/read_mesh.h"
#include "geometry/ring.h"

namespace loupe::server {

bool IsMeshAsset(const v1::AssetRef& asset) {
  if (asset.role() != v1::ASSET_ROLE_SCAN &&
      asset.role() != v1::ASSET_ROLE_CAD &&
      asset.role() != v1::ASSET_ROLE_PROTOTYPE_SCAN) {
    return false;
  }
  std::string name = asset.file_name();
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const char* ext : {".stl", ".obj", ".ply"}) {
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ext) == 0) {
      return true;
    }
  }
  return false;
}

namespace {

// Measurements are stated to the nanometre: that is far below any
// tolerance, and it keeps every number certifiable (canonical JSON has no
// form for 1e-17, the numerical zero a centre of mass can come out as).
double Nm(double mm) { return std::round(mm * 1e6) / 1e6; }

void Set(v1::Vector3* out, const geometry::Vec3& v) {
  out->set_x(Nm(v.x));
  out->set_y(Nm(v.y));
  out->set_z(Nm(v.z));
}

}  // namespace

absl::StatusOr<geometry::ReadMeshResult> ReadLimitedMesh(
    std::string_view bytes, std::string_view file_name,
    uint64_t max_triangles) {
  geometry::ReadLimits limits;
  limits.max_triangles = max_triangles;
  limits.max_vertices = 3 * max_triangles;
  auto mesh = geometry::ParseMesh(bytes, std::string(file_name), limits);
  if (absl::IsResourceExhausted(mesh.status())) {
    return absl::ResourceExhaustedError(
        StrCat(mesh.status().message(),
               " (limits.max_mesh_triangles: ", max_triangles, ")"));
  }
  return mesh;
}

absl::Status AddGeometrySummaries(storage::Store& store,
                                  std::string_view studio_id,
                                  v1::TwinVersion* version,
                                  std::string_view field,
                                  uint64_t max_triangles) {
  version->clear_geometry();  // Output only: measured here.
  for (int i = 0; i < version->assets_size(); ++i) {
    const v1::AssetRef& asset = version->assets(i);
    if (!IsMeshAsset(asset) || asset.size_bytes() > kMaxMeasuredMeshBytes) {
      continue;
    }
    auto sha = crypto::ParseSha256Hex(asset.sha256());
    if (!sha.ok()) continue;  // Validation names it.
    auto uploaded = store.IsAssetUploadedBy(*sha, studio_id);
    if (!uploaded.ok()) return uploaded.status();
    if (!*uploaded) continue;  // The store refuses the version.
    auto bytes = storage::ReadAssetBytes(store, *sha);
    if (!bytes.ok()) return bytes.status();
    auto mesh = ReadLimitedMesh(*bytes, asset.file_name(), max_triangles);
    if (absl::IsResourceExhausted(mesh.status())) {
      return absl::ResourceExhaustedError(StrCat(field, ".assets[", i,
                                                 "]: ", asset.file_name(), ": ",
                                                 mesh.status().message()));
    }
    if (!mesh.ok()) {
      return absl::InvalidArgumentError(
          StrCat(field, ".assets[", i, "]: ", asset.file_name(),
                 " is not a readable mesh: ", mesh.status().message()));
    }
    const geometry::Measurements m = geometry::Measure(mesh->mesh);
    v1::GeometrySummary* g = version->add_geometry();
    g->set_asset_sha256(asset.sha256());
    g->set_geometry_hash(geometry::CanonicalGeometryHash(mesh->mesh));
    g->set_volume_mm3(Nm(m.volume_mm3));
    g->set_surface_area_mm2(Nm(m.area_mm2));
    Set(g->mutable_bbox_min(), m.bbox_min);
    Set(g->mutable_bbox_max(), m.bbox_max);
    Set(g->mutable_centre_of_mass(), m.center_of_mass);
    if (auto ring = geometry::MeasureRing(mesh->mesh, m); ring.ok()) {
      g->set_inner_diameter_mm(Nm(ring->inner_diameter_mm));
      g->set_band_width_mm(Nm(ring->band_width_mm));
      g->set_min_wall_thickness_mm(Nm(ring->min_wall_mm));
    }
  }
  return absl::OkStatus();
}

}  // namespace loupe::server
