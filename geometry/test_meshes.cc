#include "geometry/test_meshes.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numbers>
#include <sstream>

namespace loupe::geometry::testing {
namespace {

template <typename T>
void Put(std::string* out, T value, bool big_endian = false) {
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  if (big_endian == (std::endian::native == std::endian::little)) {
    std::reverse(raw, raw + sizeof(T));
  }
  out->append(raw, sizeof(T));
}

double Degrees(double angle_rad) {
  double d = angle_rad * 180 / std::numbers::pi;
  return d < 0 ? d + 360 : d;
}

double OuterRadius(const BandSpec& s, double a) {
  return s.outer_radius + s.outer_wobble * std::cos(a) +
         s.outer_wobble / 2 * std::sin(3 * a) +
         (s.setting.Contains(a) ? s.setting_height : 0);
}

double InnerRadius(const BandSpec& s, double a) {
  return s.inner_radius + (s.engraving.Contains(a) ? s.engraving_depth : 0);
}

// Height of a vertex `k` rows up at angle `a`: the rows are stretched to
// make room for an overhang or squeezed above a notch.
double Height(const BandSpec& s, int k, double a) {
  const double t = static_cast<double>(k) / s.height_segments;
  double bottom = 0, top = s.width;
  if (s.overhang_arc.Contains(a)) {
    top += s.overhang;
    bottom -= s.overhang;
  }
  if (s.notch_arc.Contains(a)) bottom += s.notch;
  return bottom + (top - bottom) * t;
}

}  // namespace

bool Arc::Contains(double angle_rad) const {
  const double d = Degrees(angle_rad);
  if (from_deg == to_deg) return false;
  if (from_deg < to_deg) return d >= from_deg && d <= to_deg;
  return d >= from_deg || d <= to_deg;
}

Mesh Band(const BandSpec& s) {
  Mesh mesh;
  const int n = s.segments, h = s.height_segments;
  // Per segment: the outer column (h + 1 vertices, bottom up), then the
  // inner column.
  const uint32_t column = h + 1, per_segment = 2 * column;
  for (int i = 0; i < n; ++i) {
    const double a = 2 * std::numbers::pi * i / n;
    const double c = std::cos(a), sn = std::sin(a);
    for (double radius : {OuterRadius(s, a), InnerRadius(s, a)}) {
      for (int k = 0; k <= h; ++k) {
        mesh.vertices.push_back({radius * c, radius * sn, Height(s, k, a)});
      }
    }
  }
  auto quad = [&](uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    mesh.triangles.push_back({a, b, c});
    mesh.triangles.push_back({a, c, d});
  };
  for (int i = 0; i < n; ++i) {
    const uint32_t o = per_segment * i, on = per_segment * ((i + 1) % n);
    const uint32_t in = o + column, inn = on + column;
    for (uint32_t k = 0; k < static_cast<uint32_t>(h); ++k) {
      quad(o + k, on + k, on + k + 1, o + k + 1);      // Outer wall, out.
      quad(in + k, in + k + 1, inn + k + 1, inn + k);  // Inner wall, in.
    }
    quad(o + h, on + h, inn + h, in + h);  // Top, facing +z.
    quad(o, in, inn, on);                  // Bottom, facing -z.
  }
  return mesh;
}

Mesh AsymmetricBand() {
  BandSpec spec;
  spec.segments = 128;
  spec.height_segments = 8;
  spec.outer_wobble = 0.4;
  Mesh band = Band(spec);
  for (auto& v : band.vertices) {
    if (v.z == spec.width && v.x > 0 && std::abs(v.y) < 2) v.z += 0.3;
  }
  return band;
}

double BandVolume(const BandSpec& s) {
  // Each wall's cross-section is a polygon of n triangles fanned from the
  // axis: area r_i r_(i+1) sin(2 pi / n) / 2.
  const double step = 2 * std::numbers::pi / s.segments;
  double area = 0;
  for (int i = 0; i < s.segments; ++i) {
    const double a = step * i, b = step * ((i + 1) % s.segments);
    area += (OuterRadius(s, a) * OuterRadius(s, b) -
             InnerRadius(s, a) * InnerRadius(s, b)) *
            std::sin(step) / 2;
  }
  return s.width * area;
}

double BandArea(const BandSpec& s) {
  const double polygon =
      s.segments / 2.0 * std::sin(2 * std::numbers::pi / s.segments);
  const double side = 2 * s.segments * std::sin(std::numbers::pi / s.segments);
  return 2 * polygon *
             (s.outer_radius * s.outer_radius -
              s.inner_radius * s.inner_radius) +
         s.width * side * (s.outer_radius + s.inner_radius);
}

Mesh Moved(const Mesh& mesh, const Vec3& k, double angle, const Vec3& offset) {
  Mesh out = mesh;
  const double c = std::cos(angle), s = std::sin(angle);
  for (auto& v : out.vertices) {  // Rodrigues' rotation formula.
    v = v * c + Cross(k, v) * s + k * (Dot(k, v) * (1 - c)) + offset;
  }
  return out;
}

std::string WriteStlBinary(const Mesh& mesh) {
  std::string out(80, ' ');
  Put<uint32_t>(&out, mesh.triangles.size());
  for (size_t t = 0; t < mesh.triangles.size(); ++t) {
    for (int k = 0; k < 3; ++k) Put<float>(&out, 0);
    for (int k = 0; k < 3; ++k) {
      const Vec3 v = mesh.Corner(t, k);
      Put<float>(&out, v.x);
      Put<float>(&out, v.y);
      Put<float>(&out, v.z);
    }
    Put<uint16_t>(&out, 0);
  }
  return out;
}

std::string WriteStlAscii(const Mesh& mesh) {
  std::ostringstream out;
  out.precision(9);
  out << "solid test\n";
  for (size_t t = 0; t < mesh.triangles.size(); ++t) {
    out << "  facet normal 0 0 0\n    outer loop\n";
    for (int k = 0; k < 3; ++k) {
      const Vec3 v = mesh.Corner(t, k);
      out << "      vertex " << float(v.x) << " " << float(v.y) << " "
          << float(v.z) << "\n";
    }
    out << "    endloop\n  endfacet\n";
  }
  out << "endsolid test\n";
  return out.str();
}

std::string WriteObj(const Mesh& mesh) {
  std::ostringstream out;
  out.precision(9);
  out << "# test\no band\n";
  for (const auto& v : mesh.vertices) {
    out << "v " << float(v.x) << " " << float(v.y) << " " << float(v.z) << "\n";
  }
  for (const auto& t : mesh.triangles) {
    out << "f " << t[0] + 1 << "//1 " << t[1] + 1 << " " << t[2] + 1 << "\n";
  }
  return out.str();
}

std::string WritePly(const Mesh& mesh, const std::string& format) {
  std::ostringstream header;
  header << "ply\nformat " << format << " 1.0\ncomment test\nelement vertex "
         << mesh.vertices.size()
         << "\nproperty float x\nproperty float y\nproperty float z\n"
            "element face "
         << mesh.triangles.size()
         << "\nproperty list uchar int vertex_indices\nend_header\n";
  std::string out = header.str();
  if (format == "ascii") {
    std::ostringstream body;
    body.precision(9);
    for (const auto& v : mesh.vertices) {
      body << float(v.x) << " " << float(v.y) << " " << float(v.z) << "\n";
    }
    for (const auto& t : mesh.triangles) {
      body << "3 " << t[0] << " " << t[1] << " " << t[2] << "\n";
    }
    return out + body.str();
  }
  const bool big = format == "binary_big_endian";
  for (const auto& v : mesh.vertices) {
    Put<float>(&out, v.x, big);
    Put<float>(&out, v.y, big);
    Put<float>(&out, v.z, big);
  }
  for (const auto& t : mesh.triangles) {
    Put<uint8_t>(&out, 3, big);
    for (int k = 0; k < 3; ++k) Put<int32_t>(&out, t[k], big);
  }
  return out;
}

}  // namespace loupe::geometry::testing
