// Wavefront OBJ: "v x y z [w]" and "f i[/t[/n]] ..." (polygons split as
// fans, negative indices relative to the vertices so far); texture
// coordinates, normals, groups and materials are ignored.
#include "base/str_cat.h"
#include "geometry/read_internal.h"

namespace loupe::geometry::internal {
namespace {

constexpr size_t kMaxPolygon = 256;

}  // namespace

absl::StatusOr<ReadMeshResult> ParseObj(std::string_view bytes,
                                        const ReadLimits& limits) {
  ReadMeshResult result;
  result.format = MeshFormat::kObj;
  Mesh& mesh = result.mesh;
  LineReader lines(bytes);
  std::string_view line;
  std::string_view tokens[kMaxPolygon + 1];
  std::vector<uint32_t> polygon;
  auto error = [&](std::string_view what) {
    return absl::InvalidArgumentError(
        StrCat("OBJ line ", lines.number(), ": ", what));
  };
  while (lines.Next(&line)) {
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    const size_t n = SplitTokens(line, tokens);
    if (n == 0) continue;
    if (tokens[0] == "v") {
      Vec3 v;
      if ((n != 4 && n != 5) || !ParseDouble(tokens[1], &v.x) ||
          !ParseDouble(tokens[2], &v.y) || !ParseDouble(tokens[3], &v.z)) {
        return error("v needs three numbers");
      }
      if (!Finite(v)) return error("a coordinate is not finite");
      if (mesh.vertices.size() >= limits.max_vertices) {
        return absl::ResourceExhaustedError(
            StrCat("OBJ: more than ", limits.max_vertices, " vertices"));
      }
      mesh.vertices.push_back(v);
    } else if (tokens[0] == "f") {
      if (n > kMaxPolygon) {
        return error(StrCat("a face of more than ", kMaxPolygon, " corners"));
      }
      if (n < 4) return error("a face needs at least three corners");
      polygon.clear();
      for (size_t i = 1; i < n; ++i) {
        int64_t index;
        const std::string_view first = tokens[i].substr(0, tokens[i].find('/'));
        if (!ParseInt(first, &index) || index == 0) {
          return error(
              StrCat("bad face index \"", tokens[i].substr(0, 20), "\""));
        }
        const int64_t count = static_cast<int64_t>(mesh.vertices.size());
        const int64_t resolved = index < 0 ? count + index : index - 1;
        if (resolved < 0 || resolved >= count) {
          return error(StrCat("face index ", index, " is out of range (", count,
                              " vertices so far)"));
        }
        polygon.push_back(static_cast<uint32_t>(resolved));
      }
      if (mesh.triangles.size() + polygon.size() - 2 > limits.max_triangles) {
        return absl::ResourceExhaustedError(
            StrCat("OBJ: more than ", limits.max_triangles, " triangles"));
      }
      for (size_t i = 1; i + 1 < polygon.size(); ++i) {
        mesh.triangles.push_back({polygon[0], polygon[i], polygon[i + 1]});
      }
    }
    // vt, vn, vp, g, o, s, usemtl, mtllib, l: not geometry we compare.
  }
  if (mesh.triangles.empty()) {
    return absl::InvalidArgumentError("OBJ: no faces");
  }
  return result;
}

}  // namespace loupe::geometry::internal
