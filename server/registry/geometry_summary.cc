#include "server/registry/geometry_summary.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/str_cat.h"
#include "geometry/cad/cad_readers.h"
#include "geometry/geometry_hash.h"
#include "geometry/measure.h"
#include "geometry/read_mesh.h"
#include "geometry/ring.h"
#include "geometry/signature.h"
#include "server/registry/geometry_cache.h"

namespace loupe::server {

std::string MeshFormatOf(std::string_view file_name) {
  const size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "";
  std::string ext(file_name.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (std::string_view known : {"stl", "obj", "ply", "step", "stp", "3mf"}) {
    if (ext == known) return ext;
  }
  return "";
}

bool IsMeshAsset(const v1::AssetRef& asset) {
  if (asset.role() != v1::ASSET_ROLE_SCAN &&
      asset.role() != v1::ASSET_ROLE_CAD &&
      asset.role() != v1::ASSET_ROLE_PROTOTYPE_SCAN) {
    return false;
  }
  return !MeshFormatOf(asset.file_name()).empty();
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
  // STEP and 3MF too (geometry/cad); idempotent and cheap.
  geometry::cad::EnableCadReaders();
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

MeshMeasurement MeasureMesh(std::string_view bytes, std::string_view format,
                            uint64_t max_triangles, int threads) {
  // The reader takes the format from the content, the extension breaking
  // ties: a name with the extension alone decides alike for every name.
  auto mesh = ReadLimitedMesh(bytes, StrCat("mesh.", format), max_triangles);
  MeshMeasurement out;
  if (!mesh.ok()) {
    out.mesh_status = mesh.status();
    return out;
  }
  const geometry::Measurements m = geometry::Measure(mesh->mesh);
  v1::GeometrySummary* g = &out.summary;
  g->set_geometry_hash(geometry::CanonicalGeometryHash(mesh->mesh, threads));
  g->set_geometry_hash_version(
      static_cast<uint32_t>(geometry::kGeometryHashVersion));
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
  if (auto sig = geometry::ComputeSignature(mesh->mesh); sig.ok()) {
    v1::ShapeSignature* s = g->mutable_signature();
    s->set_version(geometry::kSignatureVersion);
    s->set_inner_diameter_mm(Nm(sig->inner_diameter_mm));
    s->set_band_width_mm(Nm(sig->band_width_mm));
    s->set_wall_thickness_mm(Nm(sig->wall_thickness_mm));
    s->set_max_height_mm(Nm(sig->max_height_mm));
    s->set_profile_density(geometry::PackDescriptor(sig->descriptor));
    Set(s->mutable_axis(), sig->frame.axis);
    Set(s->mutable_center(), sig->frame.center);
    for (double moment : m.principal_moments) {
      s->add_principal_moments_mm2(Nm(moment));
    }
  }
  return out;
}

namespace {

// One version being measured: its summaries arrive in any order, on any
// thread; the last one to arrive finishes the version.
struct VersionInMeasurement {
  v1::TwinVersion version;
  std::string field;
  MeasuredVersionCallback done;
  std::mutex mu;
  size_t remaining = 0;
  // By asset index: the outcome of each mesh asset measured.
  std::vector<std::pair<int, absl::StatusOr<GeometryCache::Measurement>>>
      results;
};

absl::Status AssetError(std::string_view field, int i,
                        const v1::AssetRef& asset, const absl::Status& s) {
  if (absl::IsResourceExhausted(s)) {
    return absl::ResourceExhaustedError(StrCat(
        field, ".assets[", i, "]: ", asset.file_name(), ": ", s.message()));
  }
  return absl::InvalidArgumentError(
      StrCat(field, ".assets[", i, "]: ", asset.file_name(),
             " is not a readable mesh: ", s.message()));
}

// All summaries are in: the version with its geometry, or the first
// failing asset's error.
void Finish(VersionInMeasurement& m) {
  std::sort(m.results.begin(), m.results.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [i, result] : m.results) {
    if (!result.ok()) return m.done(result.status());
    const MeshMeasurement& measured = **result;
    const v1::AssetRef& asset = m.version.assets(i);
    if (!measured.mesh_status.ok()) {
      return m.done(AssetError(m.field, i, asset, measured.mesh_status));
    }
    v1::GeometrySummary* g = m.version.add_geometry();
    *g = measured.summary;
    g->set_asset_sha256(asset.sha256());
  }
  m.done(std::move(m.version));
}

}  // namespace

void AddGeometrySummaries(GeometryCache& cache, storage::Store& store,
                          std::string_view studio_id, v1::TwinVersion version,
                          std::string field, MeasuredVersionCallback done) {
  version.clear_geometry();  // Output only: measured here.
  std::vector<std::pair<int, crypto::Sha256Digest>> meshes;
  for (int i = 0; i < version.assets_size(); ++i) {
    const v1::AssetRef& asset = version.assets(i);
    if (!IsMeshAsset(asset) || asset.size_bytes() > kMaxMeasuredMeshBytes) {
      continue;
    }
    auto sha = crypto::ParseSha256Hex(asset.sha256());
    if (!sha.ok()) continue;  // Validation names it.
    auto uploaded = store.IsAssetUploadedBy(*sha, studio_id);
    if (!uploaded.ok()) return done(uploaded.status());
    if (!*uploaded) continue;  // The store refuses the version.
    meshes.emplace_back(i, *sha);
  }
  if (meshes.empty()) return done(std::move(version));
  auto m = std::make_shared<VersionInMeasurement>();
  m->version = std::move(version);
  m->field = std::move(field);
  m->done = std::move(done);
  m->remaining = meshes.size();
  for (const auto& [i, sha] : meshes) {
    cache.Get(sha, MeshFormatOf(m->version.assets(i).file_name()),
              [m, i = i](absl::StatusOr<GeometryCache::Measurement> result) {
                {
                  std::lock_guard lock(m->mu);
                  m->results.emplace_back(i, std::move(result));
                  if (--m->remaining > 0) return;
                }
                Finish(*m);
              });
  }
}

}  // namespace loupe::server
