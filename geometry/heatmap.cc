#include "geometry/heatmap.h"

#include <algorithm>
#include <cstring>

#include "base/str_cat.h"

namespace loupe::geometry {
namespace {

template <typename T>
void Put(std::string* out, T v) {
  char raw[sizeof(T)];
  std::memcpy(raw, &v, sizeof(T));  // PLY binary_little_endian on x86/ARM.
  out->append(raw, sizeof(T));
}

void Colour(double d, double tolerance, uint8_t rgb[3]) {
  const double x = std::clamp(d / (3 * tolerance), -1.0, 1.0);
  if (std::abs(d) <= tolerance) {
    rgb[0] = 40, rgb[1] = 200, rgb[2] = 60;
    return;
  }
  const double f = std::abs(x);
  const uint8_t hot = static_cast<uint8_t>(120 + 135 * f);
  const uint8_t cold = static_cast<uint8_t>(200 * (1 - f));
  if (x > 0) {
    rgb[0] = hot, rgb[1] = cold, rgb[2] = 30;
  } else {
    rgb[0] = 30, rgb[1] = cold, rgb[2] = hot;
  }
}

}  // namespace

std::string HeatmapPly(const Mesh& mesh, const std::vector<double>& distances,
                       double tolerance) {
  std::string out = StrCat(
      "ply\nformat binary_little_endian 1.0\ncomment Loupe deviation heat "
      "map, tolerance ",
      tolerance, " mm\nelement vertex ", mesh.vertices.size(),
      "\nproperty float x\nproperty float y\nproperty float z\n"
      "property uchar red\nproperty uchar green\nproperty uchar blue\n"
      "property float quality\nelement face ",
      mesh.triangles.size(),
      "\nproperty list uchar int vertex_indices\nend_header\n");
  for (size_t i = 0; i < mesh.vertices.size(); ++i) {
    const Vec3& v = mesh.vertices[i];
    Put<float>(&out, v.x);
    Put<float>(&out, v.y);
    Put<float>(&out, v.z);
    uint8_t rgb[3];
    const double d = i < distances.size() ? distances[i] : 0;
    Colour(d, tolerance, rgb);
    out.append(reinterpret_cast<const char*>(rgb), 3);
    Put<float>(&out, d);
  }
  for (const auto& t : mesh.triangles) {
    Put<uint8_t>(&out, 3);
    for (uint32_t k : t) Put<int32_t>(&out, static_cast<int32_t>(k));
  }
  return out;
}

}  // namespace loupe::geometry
